"""Input ranges of perceptual networks: what a user's pixels are, said
explicitly, and checked.

The most common perceptual-loss bugs are a range mismatch: [-1, 1] images fed
to an ImageNet-normalised trunk, or LPIPS fed [0, 1] images as if they were
[-1, 1] (which flatters the scores).  Every vggzoo perceptual module takes
``input_range`` (``"0-1"``, ``"-1-1"`` or ``"0-255"``), maps it to the
weights' own preprocessing inside, and refuses data clearly outside it:
more than :data:`MARGIN` of the range's width below or above it (a network
output that overshoots a little is fine; 0-255 pixels declared 0-1 are not).
"""

from __future__ import annotations

import warnings

import torch

from ..errors import InputRangeError, OptionError

#: Declared range -> (low, high) of the pixel values.
RANGES: dict[str, tuple[float, float]] = {"0-1": (0.0, 1.0), "-1-1": (-1.0, 1.0),
                                          "0-255": (0.0, 255.0)}
#: How far outside the declared range data may go, as a fraction of its width.
MARGIN = 0.1


def check_range_name(input_range: str) -> tuple[float, float]:
    """(low, high) of a declared range; an error listing the choices otherwise."""
    if input_range not in RANGES:
        raise OptionError(f"input_range={input_range!r} is not one of {', '.join(RANGES)}: "
                          f"say which values your pixels take (e.g. input_range='-1-1' for "
                          f"tanh outputs)")
    return RANGES[input_range]


def to_unit(input_range: str) -> tuple[float, float]:
    """(scale, shift) with ``x * scale + shift`` in [0, 1] for data in the range."""
    low, high = check_range_name(input_range)
    return 1.0 / (high - low), -low / (high - low)


class RangeGuard:
    """Checks batches against a declared range: an error (``strict``) or a
    one-time warning.  Skipped while tracing or compiling (export sees no data)."""

    def __init__(self, input_range: str, *, strict: bool = True) -> None:
        self.input_range, self.strict = input_range, strict
        low, high = check_range_name(input_range)
        width = high - low
        self.bounds = (low - MARGIN * width, high + MARGIN * width)
        self.warned = False

    def __call__(self, x: torch.Tensor, what: str = "input") -> None:
        if torch.jit.is_tracing() or torch.compiler.is_compiling() or isinstance(x, torch.fx.Proxy):
            return
        if self.warned and not self.strict:
            return
        lo, hi = torch.aminmax(x.detach())
        lo, hi = float(lo), float(hi)
        if lo != lo or hi != hi or abs(lo) == float("inf") or abs(hi) == float("inf"):
            raise InputRangeError(f"{what} holds non-finite values (NaN or inf): a perceptual "
                                  f"loss of them has no meaning; check the network producing it")
        if self.bounds[0] <= lo and hi <= self.bounds[1]:
            return
        message = (f"{what} values span [{lo:.3g}, {hi:.3g}] but input_range="
                   f"{self.input_range!r} was declared: pass the range your data has "
                   f"({guess(lo, hi)}) or rescale the data")
        if self.strict:
            raise InputRangeError(message)
        warnings.warn(message + " (warned once; strict=False)", stacklevel=3)
        self.warned = True


def guess(lo: float, hi: float) -> str:
    """The declared range that data spanning [lo, hi] most likely has."""
    if hi > 1.0 + MARGIN * 2:
        return "input_range='0-255'"
    if lo < -MARGIN:
        return "input_range='-1-1'"
    return "input_range='0-1'"
