"""Hook specifications: how a plugin adds things to vggzoo.

A plugin is any object (usually a module) with functions marked
``@vggzoo.hookimpl`` whose names are the hooks below.  Each hook receives a
``register(name, obj, **info)`` callback, so one plugin can add many things.
Installed distributions expose plugins under the entry-point group
``vggzoo``; vggzoo's own models are registered through the same hooks.

Example plugin module::

    import vggzoo

    @vggzoo.hookimpl
    def vggzoo_register_models(register):
        register("vgg8", build_vgg8, config="A-minus", description="...")

Each hook's extension point is typed, as pytest's are: ``obj`` is a
:class:`typing.Protocol` below (:class:`ModelBuilder`, :class:`Initializer`,
...), and the ``info`` keywords are the fields of the hook's dataclass in
:mod:`vggzoo.plugins.info`.  ``register`` raises
:class:`vggzoo.errors.RegistrationError` for an ``info`` key the hook does
not take (naming close matches: ``file_opton`` -> ``file_option``) or an
``obj`` that is not of the hook's kind, and
:class:`vggzoo.errors.DuplicateNameError` if a name is taken; a plugin whose
hook raises is skipped as a whole (nothing it registered in that hook stays)
with a warning naming it.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, runtime_checkable

import pluggy

from .exporters import Exporter

hookspec = pluggy.HookspecMarker("vggzoo")
hookimpl = pluggy.HookimplMarker("vggzoo")

T_contra = TypeVar("T_contra", contravariant=True)


class Register(Protocol[T_contra]):
    """The callback each hook receives: ``register(name, obj, **info)``."""

    def __call__(self, name: str, obj: T_contra, **info: Any) -> None: ...


@runtime_checkable
class ModelBuilder(Protocol):
    """``obj`` of :func:`vggzoo_register_models`."""

    def __call__(self, *, fully_conv: bool, num_classes: int, width_mult: float,
                 dropout: float) -> Any: ...


@runtime_checkable
class AugmentationFactory(Protocol):
    """``obj`` of :func:`vggzoo_register_augmentations`: returns a transform."""

    def __call__(self, *, scale: Any, crop: int, pca: Any, **_: Any) -> Any: ...


@runtime_checkable
class Initializer(Protocol):
    """``obj`` of :func:`vggzoo_register_initializers`: initialises in place."""

    def __call__(self, model: Any, /, **options: Any) -> None: ...


@runtime_checkable
class EvalProtocolObject(Protocol):
    """``obj`` of :func:`vggzoo_register_eval_protocols` (a
    :class:`vggzoo.eval.protocols.EvalProtocol` subclass instance)."""

    name: str
    components: tuple[str, ...]

    def posteriors(self, runner: Any, images: Any, *, flip: bool, batch_size: int,
                   meter: Any = None) -> Any: ...

    def combine(self, parts: Any) -> Any: ...


@runtime_checkable
class RunnerFactory(Protocol):
    """``obj`` of :func:`vggzoo_register_runners`: keyword-only options ->
    :class:`vggzoo.runtime.Runner`."""

    def __call__(self, **options: Any) -> Any: ...


@runtime_checkable
class NamedWeightsObject(Protocol):
    """``obj`` of :func:`vggzoo_register_weights` (a
    :class:`vggzoo.weights.named.NamedWeights`)."""

    model: str
    file_name: str
    sha256: str


#: The ``obj`` kind of each hook, checked by ``register``.
OBJECTS: dict[str, type] = {
    "vggzoo_register_models": ModelBuilder,
    "vggzoo_register_augmentations": AugmentationFactory,
    "vggzoo_register_initializers": Initializer,
    "vggzoo_register_eval_protocols": EvalProtocolObject,
    "vggzoo_register_exporters": Exporter,
    "vggzoo_register_runners": RunnerFactory,
    "vggzoo_register_weights": NamedWeightsObject,
}


@hookspec
def vggzoo_register_models(register: Register[ModelBuilder]) -> None:
    """Register model builders (selected by name: ``vggzoo.create(NAME)``).

    :param register: call ``register(name, obj, **info)`` once per model.

    ``obj`` is a builder ``(*, fully_conv: bool, num_classes: int,
    width_mult: float, dropout: float, [in_chans: int]) -> nn.Module``.
    :func:`vggzoo.create` always passes the first four; ``in_chans`` only
    when it is not 3, so older builders need not take it.  Keywords the
    builder's signature does not take are refused by ``create`` with the
    accepted list, so declare every keyword (no ``**kwargs``).  The module
    must accept inputs of at least 224x224 and, with ``fully_conv=True``,
    give an ``(N, K, h, w)`` class score map from ``score_map(x)`` (its
    spatial mean is the logits).

    ``info`` keys (all optional; :class:`vggzoo.plugins.info.ModelHookInfo`;
    ``vggzoo list``/``vggzoo info`` show them):

    - ``config``: the paper's configuration letter (``"D"``);
    - ``aliases``: other names (``["D"]``);
    - ``description``: one line;
    - ``preprocessing``: a :class:`vggzoo.data.preprocess.Preprocessing`
      (default: the paper's mean-RGB subtraction);
    - ``paper_results``, ``paper_params_m``: the paper's numbers, labelled
      as such by ``vggzoo info``;
    - ``torchvision_weights``: torchvision's weights enum (``"VGG16_Weights"``)
      when the state dict uses torchvision's keys.

    Example::

        @vggzoo.hookimpl
        def vggzoo_register_models(register):
            register("vgg8", build_vgg8, config="A-minus", aliases=["vgg-a-minus"],
                     description="VGG-A without conv5")
    """


@hookspec
def vggzoo_register_augmentations(register: Register[AugmentationFactory]) -> None:
    """Register training augmentations (selected by ``vggzoo train --augment NAME``).

    :param register: call ``register(name, obj, **info)`` once per augmentation.

    ``obj`` is a factory ``(*, scale: TrainScale, crop: int, pca: PCAStats,
    **_) -> transform``: it is called once per training run with the run's
    training scale, crop size and PCA colour statistics (take the ones you
    need, accept the rest as ``**_``) and returns a torchvision v2 transform
    (a ``v2.Transform`` or any callable on an image tensor).  Transforms run
    in ``--augment`` order after ``ToImage`` and before mean subtraction.
    Register a :class:`vggzoo.plugins.Lazy` to import torchvision
    only when training builds the transform.

    ``info`` keys: ``description`` (one line), ``aliases``.

    Example::

        @vggzoo.hookimpl
        def vggzoo_register_augmentations(register):
            register("cutout", Lazy("my_pkg.cutout:cutout"),
                     description="one random square set to 0")
    """


@hookspec
def vggzoo_register_initializers(register: Register[Initializer]) -> None:
    """Register weight initializers (selected by ``vggzoo train --init NAME``).

    :param register: call ``register(name, obj, **info)`` once per initializer.

    ``obj`` is ``(model: nn.Module, *, batch: Tensor | None = None,
    std: float | None = None, checkpoint: str | None = None, **_) -> None``:
    it initialises ``model``'s weights in place before the first step
    (``--init-std`` arrives as ``std``, ``--init-from`` as ``checkpoint``;
    accept the options you do not use as ``**_``).  It must leave
    every weight finite; the trainer stops with a one-line
    :class:`~vggzoo.errors.DivergedError` otherwise.

    ``info`` keys: ``description``; ``needs_batch=True`` for data-driven
    initializers (LSUV): they receive ``batch``, a preprocessed batch of
    training inputs, and others do not pay for loading it.

    Example::

        @vggzoo.hookimpl
        def vggzoo_register_initializers(register):
            register("lsuv", lsuv_init, needs_batch=True,
                     description="layer-sequential unit variance")
    """


@hookspec
def vggzoo_register_eval_protocols(register: Register[EvalProtocolObject]) -> None:
    """Register evaluation protocols (selected by ``vggzoo eval --protocol NAME``).

    :param register: call ``register(name, obj, **info)`` once per protocol.

    ``obj`` is an instance of :class:`vggzoo.eval.protocols.EvalProtocol`
    with ``name`` and ``description``, implementing ``posteriors(runner,
    images, *, flip, batch_size, meter=None) -> Tensor``: ``(N, K)`` class
    posteriors of ``N`` preprocessed ``(3, H, W)`` images, all rescaled to
    one test scale Q.  Build network inputs from the images and hand them
    to :func:`~vggzoo.eval.protocols.averaged_posteriors`, which batches
    them (one size per batch) for any runner backend, so the protocol gives
    the same answer on every backend.  A combination sets ``components``
    (registered protocol names) and implements ``combine(parts)`` instead.
    Refuse images smaller than the network input with
    :func:`~vggzoo.eval.protocols.check_scale`.

    ``info`` keys: ``description``, ``aliases``.

    Example::

        @vggzoo.hookimpl
        def vggzoo_register_eval_protocols(register):
            register("tencrop", TenCrop(), description="4 corners + centre, x2 flips")
    """


@hookspec
def vggzoo_register_exporters(register: Register[Exporter]) -> None:
    """Register export formats (selected by ``vggzoo-export MODEL --format NAME``).

    :param register: ``register(name, obj, **info)``, once per format.

    ``obj`` must be a :class:`vggzoo.plugins.exporters.Exporter`, a callable

    .. code-block:: python

        def export(source, output: pathlib.Path, /, *, option=default, ...) -> ExportReport

    - ``source`` is an ``nn.Module`` made by :func:`vggzoo.create` (eval
      mode, ``pretrained_cfg`` set) when ``info["input"]`` is ``"model"``,
      else the :class:`pathlib.Path` of the file the exporter named by
      ``info["input"]`` wrote (``"onnx"``: a vggzoo ONNX network).
    - ``output`` is the file (or, with ``folder=True``, the folder) to
      write.  Write atomically (:func:`vggzoo.io.atomic_path`): on failure
      nothing is left behind.
    - Every option is a keyword parameter with a default, checked once
      against the signature before any work and converted by its annotation
      (write ``Literal["a", "b"]``, not ``str``, for a choice); an unknown
      one is an ``ExporterOptionError`` naming close matches.
    - Optionally ``obj.check(output, **options)`` rejects bad values (a
      missing package, malformed shapes) before any work; it receives the
      options it names.
    - Return a :class:`vggzoo.plugins.exporters.ExportReport`: the main
      ``path``, every file written (``files``), the written file's
      ``metadata`` (:class:`vggzoo_export.core.metadata.ExportMetadata`), the
      ``parity`` check against PyTorch (max abs difference per input size;
      empty if none), ``seconds``, ``notes`` for the user and, for reduced
      precision, the ``agreement`` with fp32
      (:class:`vggzoo_export.core.parity.AgreementReport`).

    ``info`` keys (:class:`vggzoo.plugins.info.ExporterHookInfo`):

    - ``suffix``: appended to the model name for the default output
      (``".onnx"`` -> ``vgg16.onnx``); ``""`` for a folder.
    - ``input``: ``"model"`` (default) or the name of the format whose file
      this one converts.  ``--format`` takes only ``"model"`` formats.
    - ``arguments``: ``"module:object"``, a :class:`~vggzoo.plugins.exporters.StepArguments`
      adding the format's own flag (``--trt``), chained by what it consumes.
    - ``folder``: ``True`` when ``output`` is a folder.
    - ``description``: one line, shown by ``vggzoo plugins``.

    A worked example (a safetensors exporter) is in docs/plugins.md,
    "A third-party export format".
    """


@hookspec
def vggzoo_register_runners(register: Register[RunnerFactory]) -> None:
    """Register inference backends (selected by ``--backend NAME``).

    :param register: call ``register(name, obj, **info)`` once per backend.

    ``obj`` is a factory ``(*, option: type = default, ...) ->
    vggzoo.runtime.Runner`` with keyword-only parameters.  Its signature is
    the backend's contract: :func:`vggzoo.runtime.create_runner` refuses a
    key the factory does not take (naming close matches) and converts
    command-line strings (``--runner-option KEY=VALUE``) by each parameter's
    annotation (``bool``, ``int``, ``float``, ``Literal[...]``, ``None``,
    ``str``/path), so a factory never sees ``"false"`` for a ``bool``.
    Conventional names: ``model``/``weights``/``width_mult``/``num_classes``
    for backends that build a network (a factory without ``model`` runs an
    exported file whose metadata names the architecture), ``onnx``/``engine``
    for a file, ``device`` (``cpu``, ``cuda:N``).  To import a heavy package
    only on use, register :class:`vggzoo.plugins.Lazy`
    ``("pkg.module:factory")``: its signature is the target's.

    ``info`` keys: ``aliases`` (other names), ``description`` (one line
    shown by ``vggzoo list runners``); for runners of exported files,
    ``file_option`` (the factory option that takes the file) and ``suffix``
    (files it opens by default, see :mod:`vggzoo.runtime.files`); ``flags``,
    the command-line flags it adds to ``vggzoo eval``/``predict``:
    ``{"--onnx": ("onnx", "help text")}`` maps a flag to the factory option
    it sets (see :mod:`vggzoo.cli.backend`; runners may share a flag).

    Example::

        @vggzoo.hookimpl
        def vggzoo_register_runners(register):
            register("mybackend", Lazy("my_pkg.runner:build"),
                     aliases=["mb"], file_option="onnx",
                     flags={"--onnx": ("onnx", "an exported .onnx file")},
                     description="My runtime on .onnx files")

        # my_pkg/runner.py
        def build(*, onnx: str, threads: int | None = None) -> Runner: ...
    """


@hookspec
def vggzoo_register_weights(register: Register[NamedWeightsObject]) -> None:
    """Register named weights (``vgg16.tv_in1k``, selected by ``weights=NAME``
    or ``pretrained=True``).

    :param register: call ``register(name, obj, **info)`` once per file;
        name it ``MODEL.TAG`` (``vgg16.my_in1k``).

    ``obj`` is a :class:`vggzoo.weights.named.NamedWeights`: the model, file
    name, SHA-256 (or its prefix), preprocessing, class names, reported
    accuracy and source of one weights file.  A file whose hash matches is
    recognised under any name.  When the facts come from a heavy package,
    register :class:`vggzoo.plugins.Lazy` ``(build)`` with a zero-argument
    builder: it is built when the weights are first looked up, not at every
    start-up.

    ``info`` keys: ``default=True`` for the weights ``pretrained=True`` picks
    for their model; ``description``.

    Example::

        @vggzoo.hookimpl
        def vggzoo_register_weights(register):
            register("vgg16.my_in1k", NamedWeights(model="vgg16", file_name="vgg16-my.pth",
                     sha256="...", preprocessing=vggzoo.TORCHVISION, num_classes=1000))
    """
