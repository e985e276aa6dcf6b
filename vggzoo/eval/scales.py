"""Test scales Q: an explicit list, or derived from the training scale S the
way the paper does (Sect. 4.1-4.2).

* fixed S: single-scale Q = S; multi-scale Q = {S-32, S, S+32};
* jittered S in [Smin, Smax]: single-scale Q = (Smin+Smax)/2;
  multi-scale Q = {Smin, (Smin+Smax)/2, Smax}.

Derived scales below the network's smallest input (224) are raised to it
(S = 224 multi-scale: Q = 224, 256), and the result says so
(:meth:`TrainScale.clamp_note`); explicit scales are used as given; weights
recording no training scale are taken to be trained at the paper's S = 256.
This is :func:`vggzoo.data.scales.choose_test_scales`, the one rule that
prediction, evaluation, TensorRT profiles and int8 calibration share.

The training scale travels with the weights as ``.safetensors`` metadata
(key ``"train_scale"``: ``"256"`` or ``"256:512"``), written by training.

>>> TrainScale.parse("256:512").test_scales(multi_scale=True)
[256, 384, 512]
"""

from __future__ import annotations

from ..errors import ScaleError  # noqa: F401  (re-exported)
from ..data.scales import (FIXED_SCALE_STEP, TestScales, TrainScale,  # noqa: F401  (re-exported)
                           choose_test_scales, parse_scales)
from ..models.configs import MIN_INPUT_SIZE


def resolve_scales(scales: str | list[int] | None, train_scale: str | TrainScale | None,
                   *, multi_scale: bool, min_scale: int = MIN_INPUT_SIZE) -> list[int]:
    """The scales of :func:`~vggzoo.data.scales.choose_test_scales` (without its note)."""
    return choose_test_scales(scales, train_scale, multi_scale=multi_scale,
                              min_scale=min_scale).scales
