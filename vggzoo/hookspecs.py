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

``register`` raises :class:`vggzoo.errors.DuplicateNameError` if a name is
taken; a plugin whose hook raises is skipped as a whole (nothing it
registered in that hook stays) with a warning naming it.
"""

from __future__ import annotations

from typing import Any, Protocol

import pluggy

hookspec = pluggy.HookspecMarker("vggzoo")
hookimpl = pluggy.HookimplMarker("vggzoo")


class Register(Protocol):
    """The callback each hook receives."""

    def __call__(self, name: str, obj: Any, **info: Any) -> None: ...


@hookspec
def vggzoo_register_models(register: Register) -> None:
    """Register model builders.

    ``obj`` is a callable ``builder(*, fully_conv, num_classes, width_mult,
    dropout, **kwargs) -> nn.Module``; :func:`vggzoo.create` calls it.
    Useful ``info`` keys (shown by ``vggzoo info``): ``config``,
    ``aliases`` (list of other names), ``description``, ``paper_results``,
    ``preprocessing`` (a :class:`vggzoo.preprocess.Preprocessing`).
    """


@hookspec
def vggzoo_register_augmentations(register: Register) -> None:
    """Register training augmentations: ``obj`` is a factory returning a
    torchvision-v2-compatible transform (selected by ``--augment NAME``)."""


@hookspec
def vggzoo_register_initializers(register: Register) -> None:
    """Register weight initializers: ``obj(model, **options)`` initialises
    ``model`` in place (selected by ``--init NAME``)."""


@hookspec
def vggzoo_register_eval_protocols(register: Register) -> None:
    """Register evaluation protocols (selected by ``--protocol NAME``)."""


@hookspec
def vggzoo_register_exporters(register: Register) -> None:
    """Register export formats (selected by ``vggzoo-export MODEL --format NAME``).

    :param register: ``register(name, obj, **info)``, once per format.

    ``obj`` must be a :class:`vggzoo_export.exporter.Exporter`, a callable

    .. code-block:: python

        def export(source, output: pathlib.Path, /, *, option=default, ...) -> ExportReport

    - ``source`` is an ``nn.Module`` made by :func:`vggzoo.create` (eval
      mode, ``pretrained_cfg`` set) when ``info["input"]`` is ``"model"``,
      else the :class:`pathlib.Path` of the file the exporter named by
      ``info["input"]`` wrote (``"onnx"``: a vggzoo ONNX network).
    - ``output`` is the file (or, with ``folder=True``, the folder) to
      write.  Write atomically (:func:`vggzoo.io.atomic_path`): on failure
      nothing is left behind.
    - Every option is a keyword parameter with a default.  Options are
      checked against the signature before any exporter of a command runs;
      an unknown one is a one-line
      :class:`vggzoo_export.errors.ExporterOptionError` naming close
      matches.  (A ``**options`` parameter turns that check off: avoid it.)
    - Optionally ``obj.check(output, **options)`` rejects bad values (a
      missing package, malformed shapes) before any work; it receives the
      options it names.
    - Return a :class:`vggzoo_export.exporter.ExportReport`: the main
      ``path``, every file written (``files``), the written file's
      ``metadata`` (:class:`vggzoo_export.metadata.ExportMetadata`), the
      ``parity`` check against PyTorch (max abs difference per input size;
      empty if none), ``seconds``, ``notes`` for the user and, for reduced
      precision, the ``agreement`` with fp32
      (:class:`vggzoo_export.parity.AgreementReport`).

    ``info`` keys:

    - ``suffix``: appended to the model name for the default output
      (``".onnx"`` -> ``vgg16.onnx``); ``""`` for a folder.
    - ``input``: ``"model"`` (default) or the name of the format whose file
      this one converts.  ``--format`` takes only ``"model"`` formats; the
      built-in ``protocol-dense``, ``tensorrt`` and ``triton`` formats are
      chained after ``onnx`` by ``--protocol dense``, ``--trt`` and
      ``--triton``.
    - ``folder``: ``True`` when ``output`` is a folder.
    - ``description``: one line, shown by ``vggzoo plugins``.

    Example::

        from safetensors.torch import save_file
        from vggzoo.io import atomic_path
        from vggzoo_export.exporter import ExportReport
        from vggzoo_export.metadata import describe

        def export_weights(model, output, /, *, fully_conv: bool = True):
            net = vggzoo.to_fully_conv(model) if fully_conv else model
            meta = describe(net, format="safetensors")
            with atomic_path(output) as tmp:
                save_file(net.state_dict(), tmp, metadata=meta.to_props())
            return ExportReport(output, [output], meta, parity={}, seconds=0.0)

        @vggzoo.hookimpl
        def vggzoo_register_exporters(register):
            register("weights", export_weights, suffix=".safetensors", input="model",
                     description="fully-convolutional weights as safetensors")

    ``vggzoo-export vgg16 --format weights`` then writes ``vgg16.safetensors``;
    ``--format weights --opset 17`` stops before building the model.
    """


@hookspec
def vggzoo_register_runners(register: Register) -> None:
    """Register inference backends (selected by ``--backend NAME``).

    ``obj`` is a factory ``(**options) -> vggzoo.runtime.Runner``; it takes
    the options it understands (``model``, ``weights``, ``onnx``, ``engine``,
    ``device``, ...) and ignores the rest.  See :mod:`vggzoo.runtime.base`.
    """


@hookspec
def vggzoo_register_weights(register: Register) -> None:
    """Register named weights (``vgg16.tv_in1k``, selected by ``weights=NAME``
    or ``pretrained=True``).

    ``obj`` is a :class:`vggzoo.pretrained.NamedWeights`: the model, file
    name, SHA-256 (or its prefix), preprocessing, class names, reported
    accuracy and source of one weights file.  A file whose hash matches is
    recognised under any name.
    """
