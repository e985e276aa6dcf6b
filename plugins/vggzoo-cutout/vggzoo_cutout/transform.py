"""The Cutout transform (torchvision v2), imported when training builds it."""

from __future__ import annotations

from typing import Any

import torch
from torchvision.transforms import v2

from vggzoo.errors import OptionError


class Cutout(v2.Transform):
    """Erase one random ``size`` x ``size`` square (clipped at the border)
    with probability ``p``."""

    def __init__(self, size: int, p: float = 1.0) -> None:
        super().__init__()
        if size < 1 or not 0.0 <= p <= 1.0:
            raise OptionError(f"Cutout needs size >= 1 and 0 <= p <= 1, got size={size}, p={p}")
        self.size = size
        self.p = p

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        height, width = v2.query_size(flat_inputs)
        if torch.rand(()) >= self.p:
            return {"box": None}
        cy, cx = int(torch.randint(height, ())), int(torch.randint(width, ()))
        top, left = max(0, cy - self.size // 2), max(0, cx - self.size // 2)
        bottom, right = min(height, cy + (self.size + 1) // 2), min(width, cx + (self.size + 1) // 2)
        return {"box": (top, left, bottom - top, right - left)}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if params["box"] is None or not isinstance(inpt, torch.Tensor) or inpt.ndim < 3:
            return inpt
        top, left, h, w = params["box"]
        return v2.functional.erase(inpt, top, left, h, w, torch.zeros((), dtype=inpt.dtype))


def cutout(*, crop: int = 224, **_: Any) -> Cutout:
    """Factory for ``vggzoo train --augment ... cutout``: a square of half the crop."""
    return Cutout(size=crop // 2)
