"""The VGG network: a conv trunk built from a layout, and a head that is either
fully connected (the training form) or convolutional (the paper's dense
evaluation form).

State-dict keys follow torchvision (``features.N.*``, ``classifier.N.*``) and
both head forms share them, so a torchvision checkpoint loads into either and
either converts to the other by ``load_state_dict`` (fc6 <-> 7x7 conv, fc7 and
fc8 <-> 1x1 convs) without loss.

There is deliberately no adaptive pooling: it hides the fixed-size assumption
of the FC head and freezes shapes at ONNX export.  The FC form takes inputs
whose last feature map is 7x7 (224-255 pixels a side); the fully-convolutional
form takes any input of at least 224 a side and returns a class score map.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .configs import HEAD_KERNEL, HIDDEN_WIDTH, LRN, MIN_INPUT_SIZE, M, LayerSpec
from .errors import InputSizeError, OptionError

#: Indices of the weight layers in ``classifier`` (torchvision's layout).
HEAD_LAYERS = (0, 3, 6)
#: Total stride of the trunk: five 2x2 max-pools.
TRUNK_STRIDE = 32


def scaled(width: int, width_mult: float) -> int:
    """A layer width scaled by ``width_mult``, never below one channel."""
    return max(1, int(round(width * width_mult)))


def make_features(layout: list[LayerSpec], *, batch_norm: bool = False,
                  width_mult: float = 1.0, in_chans: int = 3) -> nn.Sequential:
    """The conv trunk of a layout (see :mod:`vggzoo.configs`)."""
    layers: list[nn.Module] = []
    channels = in_chans
    for item in layout:
        if item == M:
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        elif item == LRN:
            layers.append(nn.LocalResponseNorm(size=5, alpha=1e-4, beta=0.75, k=2.0))
        else:
            width, kernel = item if isinstance(item, tuple) else (item, 3)
            width = scaled(width, width_mult)
            layers.append(nn.Conv2d(channels, width, kernel_size=kernel, padding=kernel // 2))
            if batch_norm:
                layers.append(nn.BatchNorm2d(width))
            layers.append(nn.ReLU(inplace=True))
            channels = width
    return nn.Sequential(*layers)


def make_head(in_channels: int, num_classes: int, *, hidden: int, dropout: float,
              fully_conv: bool) -> nn.Sequential:
    """fc6, fc7, fc8 as ``Linear`` layers or as 7x7/1x1 convolutions."""
    if fully_conv:
        fc6 = nn.Conv2d(in_channels, hidden, kernel_size=HEAD_KERNEL)
        fc7 = nn.Conv2d(hidden, hidden, kernel_size=1)
        fc8 = nn.Conv2d(hidden, num_classes, kernel_size=1)
    else:
        fc6 = nn.Linear(in_channels * HEAD_KERNEL * HEAD_KERNEL, hidden)
        fc7 = nn.Linear(hidden, hidden)
        fc8 = nn.Linear(hidden, num_classes)
    return nn.Sequential(fc6, nn.ReLU(inplace=True), nn.Dropout(dropout),
                         fc7, nn.ReLU(inplace=True), nn.Dropout(dropout), fc8)


class VGG(nn.Module):
    """A VGG network of the paper, in FC or fully-convolutional form.

    >>> net = VGG(LAYOUTS["D"], fully_conv=True, width_mult=1 / 16)
    >>> net.score_map(torch.zeros(1, 3, 384, 384)).shape
    torch.Size([1, 1000, 6, 6])
    """

    def __init__(self, layout: list[LayerSpec], *, batch_norm: bool = False,
                 num_classes: int = 1000, fully_conv: bool = False, width_mult: float = 1.0,
                 dropout: float = 0.5, in_chans: int = 3) -> None:
        super().__init__()
        if not width_mult > 0 or width_mult == float("inf"):
            raise OptionError(f"width multiplier {width_mult} is not allowed: it scales every "
                              f"layer width and must be a positive number (1.0 for the paper's "
                              f"widths, e.g. 0.0625 for quick tests); pass --width-mult 1.0")
        if num_classes < 1:
            raise OptionError(f"{num_classes} classes is not allowed: the network needs at least "
                              f"one class; pass --num-classes N with N >= 1 (1000 for ImageNet)")
        self.fully_conv = fully_conv
        self.num_classes = num_classes
        self.width_mult = width_mult
        self.features = make_features(layout, batch_norm=batch_norm,
                                      width_mult=width_mult, in_chans=in_chans)
        trunk_width = [m.out_channels for m in self.features if isinstance(m, nn.Conv2d)][-1]
        self.classifier = make_head(trunk_width, num_classes,
                                    hidden=scaled(HIDDEN_WIDTH, width_mult),
                                    dropout=dropout, fully_conv=fully_conv)
        #: Facts about this model (name, config, preprocessing, ...) set by the factory.
        self.pretrained_cfg: dict[str, Any] = {}
        self.register_load_state_dict_pre_hook(_reshape_head_weights)

    # -- forward -----------------------------------------------------------
    def _check_size(self, x: torch.Tensor) -> None:
        h, w = x.shape[-2], x.shape[-1]
        if h < MIN_INPUT_SIZE or w < MIN_INPUT_SIZE:
            raise InputSizeError(
                f"input is {h}x{w} but VGG needs at least {MIN_INPUT_SIZE}x{MIN_INPUT_SIZE}: "
                f"rescale the image so its shortest side is >= {MIN_INPUT_SIZE}")
        if not self.fully_conv and (h // TRUNK_STRIDE != HEAD_KERNEL or w // TRUNK_STRIDE != HEAD_KERNEL):
            top = MIN_INPUT_SIZE + TRUNK_STRIDE - 1
            raise InputSizeError(
                f"input is {h}x{w} but the fully-connected head takes {MIN_INPUT_SIZE} to {top} "
                f"pixels a side (a 7x7 feature map); crop to 224x224 or create the model "
                f"with fully_conv=True for dense evaluation at any size >= {MIN_INPUT_SIZE}")

    def forward_features(self, x: torch.Tensor) -> torch.Tensor:
        """The conv trunk's output map (N, C, H/32, W/32)."""
        self._check_size(x)
        return self.features(x)

    def forward_head(self, features: torch.Tensor) -> torch.Tensor:
        """Class scores from trunk features: a (N, K, h, w) map when fully
        convolutional, (N, K) logits for the FC form."""
        if self.fully_conv:
            return self.classifier(features)
        return self.classifier(torch.flatten(features, 1))

    def score_map(self, x: torch.Tensor) -> torch.Tensor:
        """The class score map (N, K, h, w); h = w = 1 for the FC form at 224."""
        scores = self.forward_head(self.forward_features(x))
        return scores if self.fully_conv else scores[:, :, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, K): the spatial mean of the score map (dense evaluation)."""
        scores = self.forward_head(self.forward_features(x))
        return scores.mean(dim=(2, 3)) if self.fully_conv else scores

    # -- conversion --------------------------------------------------------
    def get_classifier(self) -> nn.Module:
        return self.classifier[HEAD_LAYERS[-1]]


def _reshape_head_weights(module: VGG, state_dict: dict, prefix: str, *_: Any) -> None:
    """Let FC and conv head weights load into each other.

    A Linear fc6 weight (4096, 512*7*7) is the conv weight (4096, 512, 7, 7)
    flattened in C, H, W order (how ``torch.flatten`` lays out the features),
    so a reshape converts without loss either way.
    """
    for index in HEAD_LAYERS:
        key = f"{prefix}classifier.{index}.weight"
        target = module.classifier[index].weight
        source = state_dict.get(key)
        if (source is not None and source.shape != target.shape
                and source.numel() == target.numel() and source.shape[0] == target.shape[0]):
            state_dict[key] = source.reshape(target.shape)
