"""The function every exporter writes: the fully-convolutional network's
class score map and its spatial mean (the contract's two outputs, see
:mod:`vggzoo_export.core.contract`), computed on an eval-mode float CPU copy.
ONNX, AOTInductor and any other format trace the same module."""

from __future__ import annotations

import torch
from torch import nn

import vggzoo
from vggzoo.models.cfg import model_cfg

from ..errors import ExportError


class ScoreMapAndLogits(nn.Module):
    """The exported function: score map and its spatial mean (optionally
    computed in fp16 with fp32 inputs and outputs)."""

    def __init__(self, net: nn.Module, *, fp16: bool = False) -> None:
        super().__init__()
        self.net = net.half() if fp16 else net
        self.fp16 = fp16

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores = self.net.score_map(x.half() if self.fp16 else x)
        return scores.float(), scores.float().mean(dim=(2, 3))


def prepare(model: nn.Module) -> nn.Module:
    """The fully-convolutional, eval-mode, CPU float copy that gets exported."""
    if model_cfg(model) is None:
        raise ExportError("export needs a model made by vggzoo.create (its pretrained_cfg "
                          "names the architecture)")
    return vggzoo.to_fully_conv(model).float().cpu().eval()
