"""timm's VGGs with vggzoo's interface (imported when a ``timm/*`` model is built)."""

from __future__ import annotations

import timm
import torch
import torch.nn.functional as F
from torch import nn

from vggzoo.errors import InputSizeError, OptionError

MIN_INPUT_SIZE = 224


class TimmVGG(nn.Module):
    """A timm VGG with vggzoo's interface: ``score_map`` and size checks.

    timm's forward is ``fc8(mean(pre_logits))``; applying fc8 as a 1x1 conv
    before the mean gives the class score map, and by linearity the same
    logits, so FC and fully-convolutional use share one forward.
    """

    def __init__(self, arch: str, *, fully_conv: bool, num_classes: int, dropout: float,
                 in_chans: int = 3) -> None:
        super().__init__()
        self.fully_conv = fully_conv
        self.num_classes = num_classes
        self.net = timm.create_model(arch, pretrained=False, num_classes=num_classes,
                                     drop_rate=dropout, in_chans=in_chans)

    def _check_size(self, x: torch.Tensor) -> None:
        if x.shape[-2] < MIN_INPUT_SIZE or x.shape[-1] < MIN_INPUT_SIZE:
            raise InputSizeError(f"input is {x.shape[-2]}x{x.shape[-1]} but VGG needs at least "
                                 f"{MIN_INPUT_SIZE}x{MIN_INPUT_SIZE}")

    def score_map(self, x: torch.Tensor) -> torch.Tensor:
        self._check_size(x)
        hidden = self.net.pre_logits(self.net.forward_features(x))
        fc = self.net.head.fc
        return F.conv2d(hidden, fc.weight[:, :, None, None], fc.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._check_size(x)
        return self.net(x)


def build(arch: str, *, fully_conv: bool = False, num_classes: int = 1000,
          width_mult: float = 1.0, dropout: float = 0.5, in_chans: int = 3) -> nn.Module:
    if width_mult != 1.0:
        raise OptionError(f"timm's {arch} has fixed widths: width_mult must be 1.0, got {width_mult}")
    return TimmVGG(arch, fully_conv=fully_conv, num_classes=num_classes, dropout=dropout,
                   in_chans=in_chans)
