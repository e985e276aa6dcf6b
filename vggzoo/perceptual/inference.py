"""The fastest measured CPU inference paths of :class:`LPIPS`, as distances.

``lpips_distance(metric, precision)`` returns a ``distance(x, y) -> (N,)``
for :func:`vggzoo.perceptual.lpips_pairs` and ``vggzoo lpips --precision``:

* ``"fp32"``: exact (within float rounding, ~1e-8 of the lpips package).
  channels_last, no autograd, and the metric traced and frozen with
  ``torch.jit.freeze`` per input shape, which folds the constants and lets
  oneDNN prepack the convolution weights once instead of per call (measured
  in bench/lpips_speed.py: about 1.15x over the eager module).
* ``"bf16"``: ``torch.autocast("cpu", torch.bfloat16)`` on the eager
  channels_last module, which oneDNN runs on AMX/AVX512-BF16 where the CPU has
  them (the frozen bf16 graph measured slower, so it is not used); |Δ| about
  1e-3 on LPIPS distances.

The declared input range is still checked on every call (tracing skips the
module's own guard, so the wrapper calls it).
"""

from __future__ import annotations

from typing import Callable

import torch

from ..errors import OptionError
from .lpips import LPIPS

#: Precisions ``lpips_distance`` offers.
PRECISIONS = ("fp32", "bf16")
#: Frozen graphs kept per metric (one per input shape; pairs come size-sorted).
MAX_FROZEN_SHAPES = 8

Distance = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def lpips_distance(metric: LPIPS, precision: str = "fp32") -> Distance:
    """A no-autograd distance function of ``metric`` at ``precision``."""
    if precision not in PRECISIONS:
        raise OptionError(f"precision {precision!r} is not one of {', '.join(PRECISIONS)}: "
                          f"pass fp32 (exact) or bf16 (faster, |Δ| about 1e-3)")
    metric = metric.eval().to(memory_format=torch.channels_last)
    frozen: dict[tuple, torch.jit.ScriptModule] = {}
    cl = torch.channels_last

    def distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if x.shape != y.shape or x.dim() != 4:
            raise OptionError(f"LPIPS compares batches of one shape (N, 3, H, W); got "
                              f"{tuple(x.shape)} and {tuple(y.shape)}: resize one to the other")
        metric.features.guard(x)
        metric.features.guard(y, "second input")
        x, y = x.float().contiguous(memory_format=cl), y.float().contiguous(memory_format=cl)
        with torch.inference_mode():
            if precision == "bf16":
                with torch.autocast("cpu", dtype=torch.bfloat16):
                    return metric(x, y).float()
            key = tuple(x.shape)
            if key not in frozen:
                if len(frozen) >= MAX_FROZEN_SHAPES:
                    frozen.pop(next(iter(frozen)))
                frozen[key] = torch.jit.freeze(torch.jit.trace(metric, (x, y)))
            return frozen[key](x, y)

    return distance
