"""AlexNet's PCA colour augmentation as a torchvision v2 transform.

A module of its own because subclassing ``v2.Transform`` imports torchvision,
which :mod:`vggzoo.data.transforms` (loaded by every command) avoids.
"""

from __future__ import annotations

from typing import Any

import torch
from torchvision import tv_tensors
from torchvision.transforms import v2

from .transforms import PCAStats


class PCALighting(v2.Transform):
    """AlexNet's colour augmentation: add ``P @ (alpha * lambda)`` to every
    pixel, ``alpha_i ~ N(0, alpha_std)`` drawn once per call (per image).

    Works on 0-1 float images; uint8 images are converted first.  Values are
    not clipped, as in AlexNet.
    """

    def __init__(self, pca: PCAStats, alpha_std: float = 0.1) -> None:
        super().__init__()
        self.eigval = torch.tensor(pca.eigval, dtype=torch.float32)
        self.eigvec = torch.tensor(pca.eigvec, dtype=torch.float32)
        self.alpha_std = alpha_std

    def make_params(self, flat_inputs: list[Any]) -> dict[str, Any]:
        alpha = torch.randn(3) * self.alpha_std
        return {"offset": self.eigvec @ (alpha * self.eigval)}

    def transform(self, inpt: Any, params: dict[str, Any]) -> Any:
        if not isinstance(inpt, torch.Tensor) or inpt.ndim < 3:
            return inpt
        image = v2.functional.to_dtype(inpt, torch.float32, scale=True)
        shifted = image + params["offset"].to(image.device).view(3, 1, 1)
        return tv_tensors.wrap(shifted, like=inpt) if isinstance(inpt, tv_tensors.TVTensor) else shifted
