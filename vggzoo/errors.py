"""Exceptions vggzoo raises for bad input.

Every error names the problem and the fix, so callers (and the CLI, which
prints them without a traceback) can act on the message alone.
"""

from __future__ import annotations


class VggzooError(Exception):
    """Base class of every error vggzoo raises on purpose."""


class UnknownNameError(VggzooError, LookupError):
    """A name that no registry holds (model, augmentation, protocol, ...)."""

    def __str__(self) -> str:  # LookupError would quote the message like a key
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(VggzooError, ValueError):
    """A second registration of a name that is already taken."""


class InputSizeError(VggzooError, ValueError):
    """An input whose spatial size the network cannot take."""


class WeightsError(VggzooError, ValueError):
    """A weights file that is missing, unreadable or of another architecture."""


class DamagedFileError(WeightsError):
    """A file vggzoo reads back (weights, checkpoint, exported file) that is
    truncated, damaged or of another format, or whose content digest is not
    the one it records; the message names the file and what to do."""


class OptionError(VggzooError, ValueError):
    """An option value that is not allowed: an unknown choice, a malformed
    shape or size, or two options that cannot be combined."""




class BackendUnavailableError(VggzooError, RuntimeError):
    """Something a backend needs is missing here: a package (TensorRT), a
    device (CUDA GPU) or a feature of the installed version."""
class DataError(VggzooError, ValueError):
    """A data directory that cannot be trained on (missing, empty class, class
    count that does not match the model)."""


class ConfigError(VggzooError, ValueError):
    """A training configuration that contradicts itself or its recipe."""


class DivergedError(VggzooError, RuntimeError):
    """Training produced a non-finite loss, gradient or validation output; the
    run stops at once and its files keep the last finite state."""


class OutputError(VggzooError, OSError):
    """An output path that cannot be written: checked before the work starts."""


class ScaleError(OptionError, ConfigError):
    """A test or training scale that cannot be parsed or derived (an option
    on the command line, a field of a training configuration)."""


class RegistrationError(VggzooError, TypeError):
    """A plugin registered something its hook does not take: an unknown
    ``info`` key (a misspelt ``file_opton=``) or an ``obj`` of the wrong kind."""


class ImageTooLargeError(DataError):
    """An image whose decoded size (from its header) exceeds
    :func:`vggzoo.data.images.max_image_pixels`: refused before its pixels are decoded."""


class MemoryEstimateError(VggzooError, MemoryError):
    """Work refused before it started: its estimated memory exceeds what
    this process may use."""


class InputRangeError(OptionError):
    """Data outside the input range a perceptual module was declared with."""
