"""Test scales Q: an explicit list, or derived from the training scale S the
way the paper does (Sect. 4.1-4.2).

* fixed S: single-scale Q = S; multi-scale Q = {S-32, S, S+32};
* jittered S in [Smin, Smax]: single-scale Q = (Smin+Smax)/2;
  multi-scale Q = {Smin, (Smin+Smax)/2, Smax}.

Derived scales below the network's smallest input (224) are raised to it
(S = 224 multi-scale: Q = 224, 256), and the result says so
(:meth:`TrainScale.clamp_note`); explicit scales are used as given.

The training scale travels with the weights as ``.safetensors`` metadata
(key ``"train_scale"``: ``"256"`` or ``"256:512"``), written by training.

>>> TrainScale.parse("256:512").test_scales(multi_scale=True)
[256, 384, 512]
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import ScaleError

#: Step between the three test scales of a fixed-S model.
FIXED_SCALE_STEP = 32


@dataclass(frozen=True)
class TrainScale:
    """Training scale: fixed (``smin == smax``) or jittered in [smin, smax]."""

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

    def test_scales(self, *, multi_scale: bool, min_scale: int | None = None) -> list[int]:
        """The paper's test scales for a model trained at this scale; with
        ``min_scale`` (the network's smallest input, 224), scales below it are
        raised to it and repeats dropped: S = 224 gives Q = 224, 256, not 192."""
        if self.jittered:
            middle = (self.smin + self.smax) // 2
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


def parse_scales(text: str) -> list[int]:
    """``"256,384,512"`` -> ``[256, 384, 512]``."""
    try:
        scales = [int(part) for part in str(text).split(",") if part.strip()]
    except ValueError:
        raise ScaleError(f"cannot read test scales {text!r}: write a comma-separated list of "
                         f"integers, e.g. 256,384,512") from None
    if not scales or any(q <= 0 for q in scales):
        raise ScaleError(f"test scales {text!r} must be positive integers, e.g. 256,384,512")
    return scales


def resolve_scales(scales: str | list[int] | None, train_scale: str | TrainScale | None,
                   *, multi_scale: bool, source: str = "the weights",
                   min_scale: int | None = None) -> list[int]:
    """Explicit ``scales`` win (as given); else derive them from
    ``train_scale``, raised to at least ``min_scale``."""
    if scales is not None:
        return parse_scales(scales) if isinstance(scales, str) else [int(q) for q in scales]
    if train_scale is None:
        raise ScaleError(f"no test scales given and {source} carry no training scale "
                         f"(metadata 'train_scale'): pass scales, e.g. --scales 256,384,512, or "
                         f"the training scale, e.g. --train-scale 256 or 256:512")
    if not isinstance(train_scale, TrainScale):
        train_scale = TrainScale.parse(train_scale)
    return train_scale.test_scales(multi_scale=multi_scale, min_scale=min_scale)
