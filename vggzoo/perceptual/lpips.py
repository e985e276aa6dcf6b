"""LPIPS (Zhang et al., CVPR 2018), VGG variant, version 0.1, on vggzoo's trunk.

Equal to ``lpips.LPIPS(net="vgg")`` given the same trunk weights: the same
scaling layer (lpips' own constants, not ImageNet's), the five stage-end
ReLUs of VGG16, unit-normalised channels (eps 1e-10), squared differences
weighted by the five learned 1x1 layers and averaged over space.  The
learned layers come from the installed ``lpips`` package (its wheel ships
``weights/v0.1/vgg.pth``) or a file; the trunk from vggzoo's weights
(``vgg16.tv_in1k`` by default, the weights lpips itself downloads), so
nothing is downloaded at run time.

The input range is explicit: ``input_range="-1-1"`` is lpips' convention,
``"0-1"`` is lpips' ``normalize=True``.  Images declared [-1, 1] but holding
[0, 1] values flatter the scores; declare what you have.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..data.preprocess import Preprocessing
from ..errors import BackendUnavailableError, OptionError, WeightsError
from ..models.configs import LAYOUTS
from .features import STAGE_ENDS, FeatureNet

#: lpips' ScalingLayer, ``(x - shift) / scale`` on [-1, 1] input, as a
#: preprocessing on 0-1 pixels: mean = (1 + shift) / 2, std = scale / 2.
LPIPS_SHIFT = (-0.030, -0.088, -0.188)
LPIPS_SCALE = (0.458, 0.448, 0.450)
LPIPS_SCALING = Preprocessing("lpips-0.1", tuple((1 + s) / 2 for s in LPIPS_SHIFT),
                              tuple(s / 2 for s in LPIPS_SCALE))
#: Channels of the five stages LPIPS weighs.
CHANNELS = (64, 128, 256, 512, 512)
#: lpips' normalize_tensor epsilon.
EPS = 1e-10


def packaged_lin_weights() -> Path:
    """``weights/v0.1/vgg.pth`` inside the installed ``lpips`` package
    (found without importing it)."""
    spec = importlib.util.find_spec("lpips")
    if spec is None or not spec.submodule_search_locations:
        raise BackendUnavailableError("the lpips package is not installed: pip install lpips "
                                      "(its wheel ships the learned layers), or pass "
                                      "lin_weights='path/to/vgg.pth'")
    path = Path(list(spec.submodule_search_locations)[0]) / "weights" / "v0.1" / "vgg.pth"
    if not path.is_file():
        raise WeightsError(f"the installed lpips package has no {path}: reinstall lpips or "
                           f"pass lin_weights='path/to/vgg.pth'")
    return path


def read_lin_weights(path: str | os.PathLike | None = None) -> list[torch.Tensor]:
    """The five learned 1x1 weights (1, C, 1, 1), checked for shape and finiteness."""
    path = Path(path) if path is not None else packaged_lin_weights()
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"cannot read LPIPS layer weights {path}: {type(exc).__name__}: "
                           f"{exc}; pass lpips' weights/v0.1/vgg.pth") from exc
    tensors = []
    for k, chans in enumerate(CHANNELS):
        key = f"lin{k}.model.1.weight"
        value = state.get(key) if isinstance(state, dict) else None
        if not isinstance(value, torch.Tensor) or tuple(value.shape) != (1, chans, 1, 1):
            raise WeightsError(f"{path} is not LPIPS-VGG's layer file: {key} should be a "
                               f"(1, {chans}, 1, 1) tensor; pass lpips' weights/v0.1/vgg.pth")
        if not torch.isfinite(value).all():
            raise WeightsError(f"{path}: {key} holds non-finite values; the file is damaged")
        tensors.append(value.float())
    return tensors


class LPIPS(nn.Module):
    """Learned perceptual distance between image batches: ``lpips(x, y)`` is (N,).

    ``trunk``: ``"vgg16"`` with ``weights`` (None: ``vgg16.tv_in1k``; a file,
    named weights or a torchvision-format state dict), or a vggzoo VGG16.
    ``lin_weights``: a file like lpips' ``weights/v0.1/vgg.pth`` (None: the
    one in the installed ``lpips`` package).
    """

    def __init__(self, trunk: str | nn.Module = "vgg16", *, weights: Any = None,
                 lin_weights: str | os.PathLike | None = None, input_range: str = "-1-1",
                 strict: bool = True) -> None:
        super().__init__()
        self.features = FeatureNet(trunk, STAGE_ENDS, weights=weights, input_range=input_range,
                                   preprocessing=LPIPS_SCALING, strict=strict)
        self._check_vgg16()
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in CHANNELS)
        for lin, weight in zip(self.lins, read_lin_weights(lin_weights)):
            lin.weight.data.copy_(weight)
        self.lins.requires_grad_(False)
        self.eval()

    def _check_vgg16(self) -> None:
        convs = [m for m in self.features.trunk if isinstance(m, nn.Conv2d)]
        widths = [m.out_channels for m in convs]
        expected = [w for w in LAYOUTS["D"] if isinstance(w, int)]
        if widths != expected or any(isinstance(m, nn.BatchNorm2d) for m in self.features.trunk):
            raise OptionError("LPIPS-VGG is defined on VGG16 (configuration D, no batch norm, "
                              "full width); pass trunk='vgg16'")

    def _maps(self, x: torch.Tensor, y: torch.Tensor) -> tuple[list, list]:
        """Stage maps of both batches.  Without gradients to the target, as a
        training loss is used, the target runs without autograd and the
        backward pass covers only ``x``; otherwise one trunk call takes both
        batches (fewer, larger convolutions)."""
        self.features.guard(y, "second input")
        if torch.is_grad_enabled() and x.requires_grad and not y.requires_grad:
            with torch.no_grad():
                theirs = self.features.forward_list(y)
            return self.features.forward_list(x), theirs
        return _split_maps(self.features.forward_list(torch.cat([x, y])), x.shape[0])

    def forward(self, x: torch.Tensor, y: torch.Tensor, *,
                per_layer: bool = False) -> torch.Tensor | tuple[torch.Tensor, list[torch.Tensor]]:
        """Distances (N,); with ``per_layer`` also each stage's (N,) share."""
        if not torch.jit.is_tracing() and (x.shape != y.shape or x.dim() != 4):
            raise OptionError(f"LPIPS compares batches of one shape (N, 3, H, W); got "
                              f"{tuple(x.shape)} and {tuple(y.shape)}: resize one to the other")
        layers = []
        for lin, fx, fy in zip(self.lins, *self._maps(x, y)):
            layers.append(lin((_unit(fx) - _unit(fy)) ** 2).mean(dim=(2, 3)).flatten())
        total = layers[0] + layers[1] + layers[2] + layers[3] + layers[4]
        return (total, layers) if per_layer else total


def _split_maps(maps: list[torch.Tensor], n: int) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    return [m[:n] for m in maps], [m[n:] for m in maps]


def _unit(fmap: torch.Tensor) -> torch.Tensor:
    """lpips' normalize_tensor: channels scaled to unit length."""
    return fmap / (torch.sqrt(torch.sum(fmap ** 2, dim=1, keepdim=True)) + EPS)
