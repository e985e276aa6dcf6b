"""Content and style (Gram) losses of Gatys et al. (2016) and Johnson et al. (2016).

Presets give the layers, their weights and each paper's normalisation:

* ``"gatys"`` (VGG19, *A Neural Algorithm of Artistic Style*): content on
  ``relu4_2``, :math:`\\tfrac12 \\sum (F - P)^2`; style on ``relu1_1`` ...
  ``relu5_1`` with :math:`w_l = 1/5` and
  :math:`E_l = \\frac{1}{4 N_l^2 M_l^2} \\sum (G - A)^2`.  (The paper's
  "conv4_2" is Caffe's in-place-rectified blob, i.e. the ReLU output.)
* ``"johnson"`` (VGG16, *Perceptual Losses for Real-Time Style Transfer and
  Super-Resolution*): feature reconstruction on ``relu2_2``,
  :math:`\\frac{1}{CHW} \\lVert \\phi(\\hat y) - \\phi(y) \\rVert^2`; style on
  ``relu1_2``, ``relu2_2``, ``relu3_3``, ``relu4_3``, each
  :math:`\\lVert G(\\hat y) - G(y) \\rVert_F^2` with :math:`G = \\phi\\phi^T / (CHW)`.

Both Gram forms are :func:`gram` (normalised by C*H*W): Gatys' E_l is a
quarter of the squared Frobenius distance of normalised Grams.  ``layers``
overrides a preset's layers and weights; ``preprocessing`` what the trunk's
weights expect (default: what they record; pass
``vggzoo.data.preprocess.TORCHVISION`` for a bare torchvision state dict).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from ..data.preprocess import Preprocessing
from ..errors import OptionError
from .features import FeatureNet


@dataclass(frozen=True)
class Preset:
    """One paper's choice of trunk, layers, weights and normalisation."""

    model: str
    content: Mapping[str, float]
    style: Mapping[str, float]
    #: Content: "half-sum" (Gatys: 1/2 sum of squares) or "mean" (Johnson).
    content_norm: str
    #: Factor on the squared Frobenius distance of normalised Grams.
    style_factor: float


PRESETS: dict[str, Preset] = {
    "gatys": Preset("vgg19", {"relu4_2": 1.0},
                    {f"relu{s}_1": 0.2 for s in range(1, 6)}, "half-sum", 0.25),
    "johnson": Preset("vgg16", {"relu2_2": 1.0},
                      {"relu1_2": 1.0, "relu2_2": 1.0, "relu3_3": 1.0, "relu4_3": 1.0},
                      "mean", 1.0),
}
REDUCTIONS = ("mean", "sum", "none")


def gram(fmap: torch.Tensor) -> torch.Tensor:
    """Gram matrices (N, C, C) of feature maps (N, C, H, W), divided by C*H*W."""
    n, c, h, w = fmap.shape
    flat = fmap.reshape(n, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


class _LayerLoss(nn.Module):
    """A frozen trunk and per-layer weights; subclasses say what a layer costs."""

    kind = ""

    def __init__(self, preset: str = "johnson", *, layers: Mapping[str, float] | None = None,
                 model: Any = None, weights: Any = None, input_range: str = "0-1",
                 reduction: str = "mean", strict: bool = True,
                 preprocessing: Preprocessing | None = None) -> None:
        super().__init__()
        if preset not in PRESETS:
            raise OptionError(f"preset {preset!r} is not one of {', '.join(PRESETS)}")
        if reduction not in REDUCTIONS:
            raise OptionError(f"reduction={reduction!r} is not one of {', '.join(REDUCTIONS)}")
        self.preset = PRESETS[preset]
        chosen = dict(layers if layers is not None else getattr(self.preset, self.kind))
        self.layer_weights = chosen
        self.reduction = reduction
        self.features = FeatureNet(model or self.preset.model, list(chosen), weights=weights,
                                   input_range=input_range, strict=strict,
                                   preprocessing=preprocessing)

    def _reduce(self, per_image: torch.Tensor) -> torch.Tensor:
        if self.reduction == "none":
            return per_image
        return per_image.sum() if self.reduction == "sum" else per_image.mean()

    def forward(self, x: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        """Loss of ``x`` against ``target`` (a batch, or one image for all of ``x``)."""
        if x.dim() != 4 or target.dim() != 4 or target.shape[0] not in (1, x.shape[0]):
            raise OptionError(f"{type(self).__name__} takes (N, 3, H, W) and a target of N or "
                              f"1 images; got {tuple(x.shape)} and {tuple(target.shape)}")
        if self.kind == "content" and x.shape[1:] != target.shape[1:]:
            raise OptionError(f"content loss compares maps of one size; got images "
                              f"{tuple(x.shape[1:])} and {tuple(target.shape[1:])}: resize "
                              f"the target to the input")
        ours = self.features(x)
        with torch.no_grad():
            theirs = self.features(target.detach())
        total = x.new_zeros(x.shape[0])
        for name, weight in self.layer_weights.items():
            total = total + weight * self.layer_cost(ours[name], theirs[name])
        return self._reduce(total)

    def layer_cost(self, ours: torch.Tensor, theirs: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError


class ContentLoss(_LayerLoss):
    """Feature reconstruction loss (per image, then ``reduction`` over the batch)."""

    kind = "content"

    def layer_cost(self, ours: torch.Tensor, theirs: torch.Tensor) -> torch.Tensor:
        squares = ((ours - theirs.expand_as(ours)) ** 2).flatten(1)
        if self.preset.content_norm == "half-sum":
            return 0.5 * squares.sum(dim=1)
        return squares.mean(dim=1)


class StyleLoss(_LayerLoss):
    """Gram-matrix style loss (per image, then ``reduction`` over the batch)."""

    kind = "style"

    def layer_cost(self, ours: torch.Tensor, theirs: torch.Tensor) -> torch.Tensor:
        diff = gram(ours) - gram(theirs).expand(ours.shape[0], -1, -1)
        return self.preset.style_factor * (diff ** 2).sum(dim=(1, 2))
