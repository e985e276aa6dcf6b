"""Errors of vggzoo-export; all are :class:`vggzoo.VggzooError`, so the CLIs
print them as one line that names the problem and the fix."""

from __future__ import annotations

from vggzoo.errors import VggzooError


class ExportError(VggzooError, RuntimeError):
    """An export that could not be written; nothing was left behind."""


class ParityError(ExportError):
    """The exported artifact disagrees with PyTorch: it is not shipped."""


class ArtifactError(VggzooError, ValueError):
    """A file that is missing, corrupt, or not a vggzoo export."""
