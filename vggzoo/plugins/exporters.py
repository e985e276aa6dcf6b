"""The exporter contract's types: what an export format registered through
``vggzoo_register_exporters`` is (:class:`Exporter`) and returns
(:class:`ExportReport`), and how its options are checked once before any
work (:func:`check_step_options`).

They live in the core package, so a plugin that adds a format, or only
reads what exporters report, needs ``vggzoo`` alone; ``vggzoo-export``
implements its formats against them.

An exporter is a callable ``export(source, output, /, **options) ->
ExportReport``.  ``source`` is what it converts: a model made by
:func:`vggzoo.create` for formats registered with ``input="model"`` (the
default), or the path of the file the format named by ``input`` wrote.
Options are keyword parameters with defaults, checked against the
signature and converted by their annotations (:mod:`vggzoo.plugins.options`)
before the first exporter of a chain runs; an exporter may also have a
``check(output, **options)`` method that rejects bad values the same way (a
malformed profile, a missing package): it gets the options it names.  To
import a heavy format only on use, register
:class:`~vggzoo.plugins.Lazy` ``("pkg.module:export",
check="pkg.module:check")``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from .options import accepted_options, check_options

if TYPE_CHECKING:
    import argparse


@dataclass
class ExportReport:
    """What an exporter wrote and how it checked it."""

    #: The main file (or, for a folder-shaped output, its main file).
    path: Path
    #: Every file written, companions included (``.data``, sidecars, labels).
    files: list[Path]
    #: What the written file says about itself (model, preprocessing,
    #: classes): a ``vggzoo_export.core.metadata.ExportMetadata`` for
    #: vggzoo-export's formats.
    metadata: Any
    #: The check against the reference, max abs difference per input size
    #: ("224x224": 3e-06); empty when the exporter copies a checked file.
    parity: dict[str, float]
    seconds: float
    #: Lines for the user (external data, precision, what was checked).
    notes: list[str] = field(default_factory=list)
    #: Top-1/top-5 agreement with fp32 for reduced-precision outputs (a
    #: ``vggzoo_export.core.parity.AgreementReport``: ``summary()``,
    #: ``top1_agreement``).
    agreement: Any = None


@runtime_checkable
class Exporter(Protocol):
    """A registered export format (the ``obj`` of ``vggzoo_register_exporters``).

    ``output`` is the file (or folder) to write, atomically; nothing is left
    behind on failure.  Every option is a keyword parameter with a default.

    >>> report = EXPORTERS.get("onnx").obj(model, Path("vgg16.onnx"), opset=18)
    >>> report.files, report.parity
    ([PosixPath('vgg16.onnx')], {'224x224': 3.1e-06, ...})
    """

    def __call__(self, source: Any, output: Path, /, **options: Any) -> ExportReport: ...


class StepArguments(Protocol):
    """The command-line side of a format (info ``arguments="module:object"``):
    ``vggzoo-export`` adds its flag and options to the parser and, when
    :meth:`requested`, places the step by what it consumes (the model, or a
    file another requested step produces or the user gives) and what it
    produces (a file of its own format), naming no format itself.
    """

    #: The flag that asks for the step (``"--trt"``), for messages.
    flag: str
    #: Option -> the flag that sets it, for messages.
    flags: Mapping[str, str]

    def add_arguments(self, parser: argparse.ArgumentParser) -> None: ...

    def requested(self, args: argparse.Namespace) -> bool: ...

    def check(self, args: argparse.Namespace) -> None:
        """Refuse combinations of flags that cannot work, before any work."""

    def consumes(self, args: argparse.Namespace, default: str) -> str:
        """The format whose file it converts (``default``: the info's ``input``)."""

    def given(self, args: argparse.Namespace) -> Path | None:
        """A file of the consumed format named on the command line, if any."""

    def claims_output(self, args: argparse.Namespace) -> bool:
        """Whether ``-o`` names this step's output (then the model's file
        takes its default name)."""

    def output(self, args: argparse.Namespace, model: str | None, source: Path | None) -> Path: ...

    def options(self, args: argparse.Namespace, model: str | None) -> dict[str, Any]: ...

    def summary(self, report: ExportReport, options: Mapping[str, Any]) -> str:
        """The line printed after the step wrote its file."""


def check_step_options(name: str, exporter: Callable[..., Any], options: Mapping[str, Any], *,
                       flags: Mapping[str, str] | None = None,
                       error: type[Exception] | None = None) -> dict[str, Any]:
    """``options`` checked once against ``exporter``'s signature (after its
    ``source`` and ``output``) and converted by their annotations: an
    unknown key (named with the flag that set it, from ``flags``) or a
    value its annotation refuses raises before any exporter runs."""
    kwargs = {"error": error} if error is not None else {}
    return check_options(exporter, options, what=f"format {name!r}", positional=2, flags=flags,
                         fix="drop the option or choose another format", **kwargs)


def check_values(exporter: Callable[..., Any], output: Path, options: Mapping[str, Any]) -> None:
    """Run ``exporter.check(output, **options)`` when the exporter has one,
    with the options it names (all of them if it takes ``**options``)."""
    check = getattr(exporter, "check", None)
    if check is None:
        return
    named = accepted_options(check, positional=1)
    check(output, **{k: v for k, v in options.items() if named is None or k in named})
