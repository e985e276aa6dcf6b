"""Scales, the paper's one size concept (Sect. 3.1, 4.1): the training scale
S (:class:`TrainScale`: fixed, or jittered in [Smin, Smax]) and lists of
test scales Q (:func:`parse_scales`).  One type and one parser for every
part of vggzoo: training config, augmentations, evaluation, export,
TensorRT profiles.

>>> TrainScale.parse("256:512").test_scales(multi_scale=True)
[256, 384, 512]
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..errors import InputSizeError, ScaleError

#: Step between the three test scales of a fixed-S model.
FIXED_SCALE_STEP = 32
#: Training scale assumed for weights that record none: the paper's fixed S = 256.
DEFAULT_TRAIN_SCALE = "256"


@dataclass(frozen=True)
class TrainScale:
    """Training scale S: fixed (``smin == smax``) or jittered in [smin, smax].

    ``str()`` writes it as the paper's tables do (``256``, ``[256;512]``);
    :attr:`spec` as configs and weights metadata do (``256``, ``256:512``);
    :meth:`parse` reads both.
    """

    smin: int
    smax: int

    @classmethod
    def parse(cls, text: str) -> "TrainScale":
        """``"256"``, ``"256:512"``, ``"256-512"`` or the paper's ``"[256;512]"``."""
        numbers = re.fullmatch(r"\s*\[?\s*(\d+)\s*(?:[:;,\-]\s*(\d+)\s*)?\]?\s*", str(text))
        if not numbers:
            raise ScaleError(f"cannot read training scale {text!r}: write S (e.g. 256) or "
                             f"Smin:Smax (e.g. 256:512)")
        smin = int(numbers[1])
        smax = int(numbers[2] or smin)
        if smax < smin:
            raise ScaleError(f"training scale {text!r} has Smax < Smin; write Smin:Smax")
        return cls(smin, smax)

    @property
    def jittered(self) -> bool:
        return self.smax != self.smin

    @property
    def spec(self) -> str:
        """``"256"`` or ``"256:512"``: the form configs and metadata store."""
        return f"{self.smin}:{self.smax}" if self.jittered else str(self.smin)

    @property
    def test_scale(self) -> int:
        """The paper's single-scale test Q: S, or (Smin + Smax) / 2."""
        return (self.smin + self.smax) // 2

    def test_scales(self, *, multi_scale: bool, min_scale: int | None = None) -> list[int]:
        """The paper's test scales for a model trained at this scale; with
        ``min_scale`` (the network's smallest input, 224), scales below it are
        raised to it and repeats dropped: S = 224 gives Q = 224, 256, not 192."""
        if self.jittered:
            middle = self.test_scale
            scales = [self.smin, middle, self.smax] if multi_scale else [middle]
        else:
            s = self.smin
            scales = [s - FIXED_SCALE_STEP, s, s + FIXED_SCALE_STEP] if multi_scale else [s]
        if min_scale is None:
            return scales
        return list(dict.fromkeys(max(q, min_scale) for q in scales))

    def clamp_note(self, *, multi_scale: bool, min_scale: int) -> str | None:
        """What :meth:`test_scales` changed to respect ``min_scale``, for the
        output; ``None`` when nothing was clamped."""
        low = [q for q in self.test_scales(multi_scale=multi_scale) if q < min_scale]
        if not low:
            return None
        used = self.test_scales(multi_scale=multi_scale, min_scale=min_scale)
        return (f"training scale S={self} gives test scale(s) Q={','.join(map(str, low))}, below "
                f"the network's smallest input {min_scale}: clamped to {min_scale}, so Q="
                f"{','.join(map(str, used))}")

    def __str__(self) -> str:
        """As the paper's tables write it: ``256`` or ``[256;512]``."""
        return f"[{self.smin};{self.smax}]" if self.jittered else str(self.smin)


def parse_scales(text: str | Sequence[int], *, minimum: int | None = None) -> list[int]:
    """``"256,384,512"`` -> ``[256, 384, 512]``, in the order given: the one
    parser of test-scale lists (evaluation, export, TensorRT profiles).
    ``minimum`` (the network's smallest input) refuses smaller scales.

    >>> parse_scales("256, 384,512")
    [256, 384, 512]
    """
    items = str(text).split(",") if isinstance(text, str) else list(text)
    try:
        scales = [int(str(part).strip()) for part in items if str(part).strip()]
    except ValueError:
        raise ScaleError(f"cannot read test scales {text!r}: give comma-separated integers, "
                         f"e.g. 256,384,512") from None
    if not scales or any(q <= 0 for q in scales):
        raise ScaleError(f"test scales {text!r} must be positive integers, e.g. 256,384,512")
    small = [q for q in scales if minimum is not None and q < minimum]
    if small:
        raise InputSizeError(f"scale(s) {', '.join(map(str, small))} below the network's "
                             f"minimum input of {minimum}: use scales >= {minimum}")
    return scales


@dataclass(frozen=True)
class TestScales:
    """The test scales Q chosen for a network, and why, when not as asked."""

    __test__ = False  # not a pytest test class

    scales: list[int]
    #: What the rule assumed or changed (clamping, an assumed S), for the output.
    note: str | None = None


def choose_test_scales(scales: str | Sequence[int] | None, train_scale: "str | TrainScale | None",
                       *, multi_scale: bool, min_scale: int) -> TestScales:
    """The one test-scale rule of vggzoo: prediction, evaluation, TensorRT
    profiles and int8 calibration all call it.

    1. ``scales`` given: used as given (a protocol refuses ones below the
       network's minimum input, naming it);
    2. else derived from the training scale S the paper's way (Q = S, or
       {S-32, S, S+32} with ``multi_scale``; jittered: the middle, or
       {Smin, middle, Smax}), raised to at least ``min_scale`` (S = 224
       multi-scale gives Q = 224, 256, not 192);
    3. else as 2 with :data:`DEFAULT_TRAIN_SCALE` (S = 256), saying so.

    >>> choose_test_scales(None, "224", multi_scale=True, min_scale=224).scales
    [224, 256]
    """
    if scales is not None:
        return TestScales(parse_scales(scales))
    assumed = train_scale is None
    if not isinstance(train_scale, TrainScale):
        train_scale = TrainScale.parse(DEFAULT_TRAIN_SCALE if assumed else train_scale)
    chosen = train_scale.test_scales(multi_scale=multi_scale, min_scale=min_scale)
    notes = [f"no training scale recorded: assumed S={train_scale} (the paper's; pass the "
             f"training scale or the test scales to choose)"] if assumed else []
    clamped = train_scale.clamp_note(multi_scale=multi_scale, min_scale=min_scale)
    return TestScales(chosen, "; ".join(notes + ([clamped] if clamped else [])) or None)
