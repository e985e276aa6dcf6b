"""Errors of vggzoo-export; all are :class:`vggzoo.VggzooError`, so the CLIs
print them as one line that names the problem and the fix."""

from __future__ import annotations

from vggzoo.errors import DamagedFileError, InputSizeError, OptionError, VggzooError


class ExportError(VggzooError, RuntimeError):
    """An export that could not be written; nothing was left behind."""


class ParityError(ExportError):
    """The exported artifact disagrees with PyTorch: it is not shipped."""


class AgreementError(ExportError):
    """The reduced-precision network disagrees too often with fp32: not shipped."""


class ArtifactError(VggzooError, ValueError):
    """A file that is missing, corrupt, or not a vggzoo export."""


class DamagedArtifactError(ArtifactError, DamagedFileError):
    """An exported file that is truncated, damaged, of another format, or
    whose contents do not hash to the digest it records."""


class EngineMismatchError(VggzooError, RuntimeError):
    """An engine that cannot run here (other TensorRT or GPU, stale or
    missing sidecar); the message says how to rebuild it."""


class ExporterOptionError(OptionError):
    """An option the chosen export format does not take (a typo, or an
    option of another format); raised before any work starts."""


class ServerError(VggzooError):
    """The server did not start, or a model did not load."""


class BadImageError(InputSizeError):
    """A request's pixels that the model cannot take (the request's error)."""
