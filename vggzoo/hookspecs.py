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
    """Register export formats (selected by ``vggzoo-export --format NAME``)."""


@hookspec
def vggzoo_register_runners(register: Register) -> None:
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
    only on use, register :class:`vggzoo.options.LazyCallable`
    ``("pkg.module:factory")``: its signature is the target's.

    ``info`` keys: ``aliases`` (other names), ``description`` (one line
    shown by ``vggzoo list runners``).

    Example::

        @vggzoo.hookimpl
        def vggzoo_register_runners(register):
            register("mybackend", LazyCallable("my_pkg.runner:build"),
                     aliases=["mb"], description="My runtime on .onnx files")

        # my_pkg/runner.py
        def build(*, onnx: str, threads: int | None = None) -> Runner: ...
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
