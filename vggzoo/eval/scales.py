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

from ..errors import ScaleError
from ..data.scales import FIXED_SCALE_STEP, TrainScale, parse_scales  # noqa: F401  (re-exported)


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
