"""The exporter contract: what an export format registered through
``vggzoo_register_exporters`` is, what it returns, and how its options are
checked before any work starts.

An exporter is a callable ``export(source, output, /, **options) ->
ExportReport`` (:class:`Exporter`).  ``source`` is what it converts: a
model made by :func:`vggzoo.create` for formats registered with
``input="model"`` (the default: ``onnx``, ``aoti``), or the path of a file
another exporter wrote for the others (``input="onnx"``: ``tensorrt``,
``triton``, ``protocol-dense``).  ``vggzoo-export`` chains them: ``--trt``
exports ONNX, then hands that file to the ``tensorrt`` exporter.

Options are keyword arguments, checked against the exporter's signature by
:func:`check_options` before the first exporter of a chain runs, so a
misspelt or unsupported option is a one-line :class:`ExporterOptionError`
with close matches, never a ``TypeError`` halfway through.  An exporter may
also have a ``check(output, **options)`` method that rejects bad values the
same way (a malformed profile, a missing package) before any work; it gets
the (already checked) options it names as parameters.

Heavy modules load on first call: :class:`LazyExporter` names the function
by module and attribute and still exposes its real signature.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Protocol

from vggzoo.plugins.options import accepted_options, check_keys

from ..errors import ExporterOptionError

if TYPE_CHECKING:
    from .parity import AgreementReport
    from .metadata import ExportMetadata


@dataclass
class ExportReport:
    """What an exporter wrote and how it checked it."""

    #: The main file (or, for a folder-shaped output, its main file).
    path: Path
    #: Every file written, companions included (``.data``, sidecars, labels).
    files: list[Path]
    #: What the written file says about itself (model, preprocessing, classes).
    metadata: ExportMetadata | None
    #: The check against the reference, max abs difference per input
    #: ("224x224": 3e-06); empty when the exporter copies a checked file.
    parity: dict[str, float]
    seconds: float
    #: Lines for the user (external data, precision, what was checked).
    notes: list[str] = field(default_factory=list)
    #: Top-1/top-5 agreement with fp32, for reduced-precision outputs.
    agreement: AgreementReport | None = None


class Exporter(Protocol):
    """A registered export format (the ``obj`` of ``vggzoo_register_exporters``).

    ``source`` is an ``nn.Module`` made by :func:`vggzoo.create` when the
    format was registered with ``input="model"``, else the path of the file
    the exporter named by ``input`` wrote.  ``output`` is the file (or
    folder) to write, atomically; nothing is left behind on failure.  Every
    option is a keyword parameter with a default.

    >>> report = EXPORTERS.get("onnx").obj(model, Path("vgg16.onnx"), opset=18)
    >>> report.files, report.parity
    ([PosixPath('vgg16.onnx')], {'224x224': 3.1e-06, ...})
    """

    def __call__(self, source: Any, output: Path, /, **options: Any) -> ExportReport: ...


#: Relative exporter modules (".onnx.export") are found in this distribution.
_PACKAGE = __name__.split(".")[0]


class LazyExporter:
    """The :class:`Exporter` of format ``name``: its function (and optional
    ``check``) is imported on first use from ``module`` (relative to the
    ``vggzoo_export`` package when it starts with a dot), so registering formats stays cheap.
    Its signature is the real function's, so :func:`check_options` sees the
    real options, and a call checks them first (a one-line error instead of
    a ``TypeError``).
    """

    def __init__(self, name: str, module: str, function: str, check: str | None = None) -> None:
        self.name, self.module, self.function, self._check = name, module, function, check

    def _load(self, name: str) -> Callable[..., Any]:
        return getattr(import_module(self.module, _PACKAGE), name)

    @property
    def __wrapped__(self) -> Callable[..., Any]:
        """The real exporter: ``inspect.signature`` follows it to the real
        options, and its type hints convert ``--export-option`` values."""
        return self._load(self.function)

    def __call__(self, source: Any, output: Path, /, **options: Any) -> ExportReport:
        export = self._load(self.function)
        check_options(self.name, export, options)
        return export(source, output, **options)

    def check(self, output: Path, /, **options: Any) -> None:
        """Reject bad option values before any work (no-op without a check
        function).  The check gets the options it names; :func:`check_options`
        has already refused any the exporter does not take."""
        if self._check is None:
            return
        check = self._load(self._check)
        named = accepted_options(check, positional=1)
        check(output, **{k: v for k, v in options.items() if named is None or k in named})

    def __repr__(self) -> str:
        return f"<exporter {self.name!r}: {self.module}.{self.function}>"


def check_options(format_name: str, exporter: Callable[..., Any], options: dict[str, Any], *,
                  flags: dict[str, str] | None = None) -> None:
    """Raise :class:`ExporterOptionError` unless ``exporter`` takes every key
    of ``options`` (after its ``source`` and ``output``); ``flags`` maps
    options to the command-line flags that set them, for the message."""
    check_keys(exporter, options, what=f"format {format_name!r}", positional=2, flags=flags,
               fix="drop the option or choose another format", error=ExporterOptionError)


def check_values(exporter: Callable[..., Any], output: Path, options: dict[str, Any]) -> None:
    """Run ``exporter.check(output, **options)`` when the exporter has one,
    with the options it names (all of them if it takes ``**options``)."""
    check = getattr(exporter, "check", None)
    if check is None:
        return
    named = accepted_options(check, positional=1)
    check(output, **{k: v for k, v in options.items() if named is None or k in named})
