"""Optimisation profiles: the input shapes an engine accepts.

A TensorRT engine with dynamic shapes runs only inside the ranges it was
built for, and is tuned for one shape per profile ("opt").  Dense evaluation
(the paper's test protocol) feeds images whose *shortest* side is the test
scale Q, landscape or portrait, so each scale gets one profile:

- min ``(1, 3, Q, Q)``; opt ``(B, 3, Q, Q)`` (full batches, the throughput case);
- max ``(B, 3, L, L)`` with ``L = ceil(Q * max_aspect)``: a Q x L landscape
  image and an L x Q portrait one both fit.

Or one explicit profile from ``--min/--opt/--max NxCxHxW``.

>>> derive_profiles([256, 384, 512], max_batch=32)[0].describe()
'batch 1-32, height 256-512, width 256-512 (tuned for 32x3x256x256)'
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from vggzoo.models.configs import MIN_INPUT_SIZE
from vggzoo.errors import InputSizeError, OptionError
from vggzoo.data.scales import choose_test_scales, parse_scales

from ..core.contract import DEFAULT_MAX_BATCH
from ..core.contract import DEFAULT_TEST_SCALES as DEFAULT_SCALES

Shape = tuple[int, int, int, int]
#: Longest side / shortest side covered by default (3:2 photos and wider up to 2:1).
DEFAULT_MAX_ASPECT = 2.0
CHANNELS = 3


@dataclass(frozen=True)
class Profile:
    """One optimisation profile of a 4-D ``(N, C, H, W)`` input."""

    min: Shape
    opt: Shape
    max: Shape

    def __post_init__(self) -> None:
        for label, shape in (("min", self.min), ("opt", self.opt), ("max", self.max)):
            if len(shape) != 4 or any(int(d) < 1 for d in shape):
                raise OptionError(f"profile {label} shape {format_shape(shape)} must be four "
                                  f"positive sizes NxCxHxW")
        if not all(lo <= mid <= hi for lo, mid, hi in zip(self.min, self.opt, self.max)):
            raise OptionError(f"profile shapes must grow from min to opt to max in every "
                              f"dimension: min {format_shape(self.min)}, opt "
                              f"{format_shape(self.opt)}, max {format_shape(self.max)}")
        if not self.min[1] == self.opt[1] == self.max[1]:
            raise OptionError(f"the channel count cannot vary within a profile "
                              f"(min {self.min[1]}, opt {self.opt[1]}, max {self.max[1]})")
        if min(self.min[2:]) < MIN_INPUT_SIZE:
            raise InputSizeError(f"profile min {format_shape(self.min)} is below the network's "
                                 f"minimum input {MIN_INPUT_SIZE}x{MIN_INPUT_SIZE}")

    @property
    def max_batch(self) -> int:
        return self.max[0]

    def contains(self, shape: Sequence[int]) -> bool:
        """Whether an input of ``shape`` runs under this profile."""
        return len(shape) == 4 and all(lo <= d <= hi for lo, d, hi in
                                       zip(self.min, shape, self.max))

    def fits_image(self, shape: Sequence[int]) -> bool:
        """Whether ``shape`` fits ignoring the batch size (batches are split)."""
        return self.contains((self.min[0], *shape[1:])) if len(shape) == 4 else False

    def distance(self, shape: Sequence[int]) -> int:
        """How far ``shape`` is from the tuned shape (to pick among profiles)."""
        return sum(abs(a - b) for a, b in zip(self.opt[2:], shape[2:]))

    def describe(self) -> str:
        (n0, _, h0, w0), (n1, _, h1, w1) = self.min, self.max
        return (f"batch {n0}-{n1}, height {h0}-{h1}, width {w0}-{w1} "
                f"(tuned for {format_shape(self.opt)})")

    def as_dict(self) -> dict[str, list[int]]:
        return {"min": list(self.min), "opt": list(self.opt), "max": list(self.max)}

    @classmethod
    def from_dict(cls, data: dict) -> "Profile":
        return cls(tuple(data["min"]), tuple(data["opt"]), tuple(data["max"]))


def format_shape(shape: Sequence[int]) -> str:
    return "x".join(str(int(d)) for d in shape)


def parse_shape(text: str) -> Shape:
    """``"32x3x384x512"`` -> ``(32, 3, 384, 512)``, with an error that shows
    the expected form."""
    parts = text.lower().replace("*", "x").split("x")
    try:
        shape = tuple(int(p) for p in parts)
    except ValueError:
        shape = ()
    if len(shape) != 4 or any(d < 1 for d in shape):
        raise OptionError(f"cannot read shape {text!r}: write it as NxCxHxW with four positive "
                          f"integers, e.g. 32x3x384x512")
    return shape  # type: ignore[return-value]


def profile_scales(text: str | Sequence[int]) -> tuple[int, ...]:
    """The test scales profiles are built for: :func:`vggzoo.data.scales.parse_scales`
    (each >= 224), sorted and unique.  ``"512,256,384,256"`` -> ``(256, 384, 512)``."""
    return tuple(sorted(set(parse_scales(text, minimum=MIN_INPUT_SIZE))))


def derive_profiles(scales: Sequence[int] = DEFAULT_SCALES, *,
                    max_batch: int = DEFAULT_MAX_BATCH,
                    max_aspect: float = DEFAULT_MAX_ASPECT,
                    channels: int = CHANNELS) -> list[Profile]:
    """One profile per test scale Q, for images whose shortest side is Q and
    whose longest side is at most ``max_aspect * Q``, either orientation, of
    ``channels`` channels (the model's ``in_chans``)."""
    scales = profile_scales(scales)
    if int(max_batch) != max_batch or max_batch < 1:
        raise OptionError(f"--max-batch must be a positive integer, got {max_batch}")
    if not max_aspect >= 1.0:
        raise OptionError(f"--max-aspect is longest side / shortest side, so >= 1; "
                          f"got {max_aspect}")
    profiles = []
    for q in scales:
        longest = math.ceil(q * max_aspect)
        profiles.append(Profile(min=(1, channels, q, q), opt=(max_batch, channels, q, q),
                                max=(max_batch, channels, longest, longest)))
    return profiles


def explicit_profile(min_shape: str, opt_shape: str, max_shape: str) -> Profile:
    """The profile of ``--min/--opt/--max``."""
    return Profile(parse_shape(min_shape), parse_shape(opt_shape), parse_shape(max_shape))


def default_profile_scales(train_scale: str | None) -> tuple[int, ...]:
    """The scales an engine (or ONNX Runtime's TensorRT provider) covers
    unless told: every test scale prediction and evaluation derive from
    ``train_scale`` (:func:`vggzoo.data.scales.choose_test_scales`, the
    multi-scale set, which holds the single scale too) and the network's
    minimum input, which the single and multi-crop protocols feed."""
    derived = choose_test_scales(None, train_scale, multi_scale=True, min_scale=MIN_INPUT_SIZE)
    return profile_scales([MIN_INPUT_SIZE, *derived.scales])


def plan_profiles(*, scales: str | Sequence[int] | None = None,
                  max_batch: int = DEFAULT_MAX_BATCH, max_aspect: float = DEFAULT_MAX_ASPECT,
                  min_shape: str | None = None, opt_shape: str | None = None,
                  max_shape: str | None = None, train_scale: str | None = None,
                  channels: int = CHANNELS) -> tuple[list[Profile], dict]:
    """The profiles an engine is built with: one explicit profile when
    ``min_shape``/``opt_shape``/``max_shape`` are given (all three, and no
    ``scales``), else one per test scale: ``scales``, or
    :func:`default_profile_scales` of the model's ``train_scale``, so the
    engine takes every input ``vggzoo eval``/``predict`` will feed it.
    Also returns the options to record in the sidecar for a rebuild."""
    explicit = [min_shape, opt_shape, max_shape]
    if any(explicit):
        if not all(explicit):
            raise OptionError("give --min, --opt and --max together (one explicit profile), "
                              "or none of them and --scales")
        if scales:
            raise OptionError("--scales and --min/--opt/--max both describe the profiles; "
                              "give one or the other")
        return [explicit_profile(min_shape, opt_shape, max_shape)], {}
    scales = profile_scales(scales) if scales else default_profile_scales(train_scale)
    profiles = derive_profiles(scales, max_batch=max_batch, max_aspect=max_aspect,
                               channels=channels)
    return profiles, {"scales": list(scales), "max_batch": max_batch, "max_aspect": max_aspect}


def select_profile(profiles: Sequence[Profile], shape: Sequence[int]) -> int:
    """Index of the profile to run an input of ``shape`` (its batch may be
    larger than the profile's: the runner splits it), the closest tuned one
    when several fit; a clear error listing what is allowed when none does."""
    fitting = [i for i, p in enumerate(profiles) if p.fits_image(shape)]
    if not fitting:
        allowed = "; ".join(f"profile {i}: {p.describe()}" for i, p in enumerate(profiles))
        raise InputSizeError(
            f"input shape {format_shape(shape)} is outside the engine's optimisation profiles "
            f"({allowed}). Resize the input into one of them, or rebuild the engine with "
            f"--scales/--max-aspect (or --min/--opt/--max) covering "
            f"{format_shape((1, *shape[1:]))}")
    return min(fitting, key=lambda i: profiles[i].distance(shape))
