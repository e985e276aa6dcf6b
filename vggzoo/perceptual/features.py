"""A VGG trunk as a perceptual feature network: layers by name, frozen,
with an explicit input range.

``FeatureNet("vgg16", ["relu2_2", "conv4_2"], input_range="-1-1")`` returns
those layers' maps for [-1, 1] images, after the weights' own preprocessing
(ImageNet mean/std for torchvision's weights, the paper's mean RGB for its
own).  Its ReLUs are not in place, so ``conv3_3`` really is the
pre-activation map (torchvision's in-place ReLUs overwrite it with
``relu3_3``, a common silent bug of perceptual losses).  The trunk is frozen
and stays in eval mode when the enclosing model is put into training mode,
so batch-norm statistics never move; gradients still flow to the input.
"""

from __future__ import annotations

import copy
import difflib
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..data.preprocess import Preprocessing
from ..errors import OptionError
from ..models.layers import layer_names
from .ranges import RangeGuard, to_unit

#: The layers LPIPS and most perceptual losses read (the last ReLU of each stage of VGG16).
STAGE_ENDS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3", "relu5_3")


def build_trunk_model(model: str | nn.Module, weights: Any) -> tuple[nn.Module, bool]:
    """The VGG to take the trunk from, and whether it is ours to change.

    ``weights=None`` loads the model's default named weights (a perceptual
    loss of a random trunk is meaningless); ``weights="random"`` is for tests.
    """
    if isinstance(model, nn.Module):
        if weights is not None:
            raise OptionError("pass weights= with a model name, not with a model instance "
                              "(whose weights are already loaded)")
        return model, False
    from ..models.factory import create

    if weights == "random":
        return create(model, num_classes=0), True
    if weights is None:
        return create(model, pretrained=True, num_classes=0), True
    return create(model, weights=weights, num_classes=0), True


class FeatureNet(nn.Module):
    """Named layer maps of a frozen VGG trunk, for inputs in ``input_range``.

    ``model``: a registered name (``"vgg16"``, ``"vgg19_bn"``, ``"C"``) or a
    :class:`vggzoo.VGG`.  ``weights``: as for :func:`vggzoo.create` (None: the
    default named weights).  ``preprocessing``: what the trunk's weights
    expect on 0-1 pixels; by default what the weights record.  ``strict=False``
    turns out-of-range data into a one-time warning instead of an error.
    """

    def __init__(self, model: str | nn.Module = "vgg16", layers: Sequence[str] = STAGE_ENDS, *,
                 weights: Any = None, input_range: str = "0-1",
                 preprocessing: Preprocessing | None = None, strict: bool = True,
                 trainable: bool = False) -> None:
        super().__init__()
        vgg, owned = build_trunk_model(model, weights)
        if not hasattr(vgg, "layout"):
            raise OptionError(f"{type(vgg).__name__} is not a vggzoo VGG: pass a model name "
                              f"or a model made by vggzoo.create")
        names = layer_names(vgg.layout, batch_norm=vgg.batch_norm)
        self.layers = _check_layers(layers, names)
        self.indices = [names[n] for n in self.layers]
        trunk = vgg.features[:max(self.indices) + 1]
        self.trunk = _without_inplace(trunk if owned else copy.deepcopy(trunk))
        pre = preprocessing or _recorded_preprocessing(vgg)
        self.preprocessing, self.input_range, self.trainable = pre, input_range, trainable
        self.guard = RangeGuard(input_range, strict=strict)
        scale, shift = to_unit(input_range)
        mean = torch.tensor(pre.mean, dtype=torch.float64)
        std = torch.tensor(pre.std, dtype=torch.float64)
        # One affine map from the declared range to the trunk's input: x * a + b.
        self.register_buffer("a", (scale / std).float().view(1, 3, 1, 1), persistent=False)
        self.register_buffer("b", ((shift - mean) / std).float().view(1, 3, 1, 1),
                             persistent=False)
        self.trunk.requires_grad_(trainable)
        self.train(False)

    def train(self, mode: bool = True) -> "FeatureNet":
        """A frozen trunk stays in eval mode (batch-norm statistics never move)."""
        super().train(mode)
        if not self.trainable:
            self.trunk.eval()
        return self

    def preprocess(self, x: torch.Tensor) -> torch.Tensor:
        """Checked input mapped to what the trunk's weights expect."""
        self.guard(x)
        return x * self.a.to(x.dtype) + self.b.to(x.dtype)

    def forward_list(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The maps of :attr:`layers` for checked input in the declared range."""
        return self.maps(self.preprocess(x))

    def maps(self, x: torch.Tensor) -> list[torch.Tensor]:
        """The maps of :attr:`layers` for input already preprocessed for the trunk."""
        taps, maps = set(self.indices), {}
        for index, layer in enumerate(self.trunk):
            x = layer(x)
            if index in taps:
                maps[index] = x
        return [maps[i] for i in self.indices]

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return dict(zip(self.layers, self.forward_list(x)))


def _check_layers(layers: Sequence[str], names: dict[str, int]) -> list[str]:
    if isinstance(layers, str):
        layers = [layers]
    layers = list(layers)
    if not layers:
        raise OptionError("no layers asked for: pass layer names such as relu2_2")
    for name in layers:
        if name not in names:
            near = difflib.get_close_matches(name, list(names), 3)
            raise OptionError(f"this trunk has no layer {name!r}"
                              + (f" (did you mean {', '.join(near)}?)" if near else "")
                              + f"; it has {', '.join(n for n in names if not n.startswith('bn'))}")
    if len(set(layers)) != len(layers):
        raise OptionError(f"layers {layers} name a layer twice")
    return layers


def _without_inplace(trunk: nn.Sequential) -> nn.Sequential:
    for index, layer in enumerate(trunk):
        if isinstance(layer, nn.ReLU) and layer.inplace:
            trunk[index] = nn.ReLU(inplace=False)
    return trunk


def _recorded_preprocessing(model: nn.Module) -> Preprocessing:
    from ..models.cfg import model_cfg

    cfg = model_cfg(model)
    if cfg is None:
        raise OptionError("this model records no preprocessing (it was not made by "
                          "vggzoo.create): pass preprocessing=vggzoo.data.preprocess.TORCHVISION "
                          "or PAPER, whichever its weights were trained with")
    return cfg.preprocessing
