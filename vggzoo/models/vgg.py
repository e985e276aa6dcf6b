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

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .configs import HEAD_KERNEL, HIDDEN_WIDTH, LRN, MIN_INPUT_SIZE, M, LayerSpec
from ..errors import InputSizeError, OptionError
from .cfg import PretrainedCfg

#: Why a network built with ``num_classes=0`` (pooled trunk features) cannot
#: be evaluated, asked for predictions or exported as a classifier.
NO_CLASSES = ("--num-classes 0 gives the pooled trunk features, which have no class scores; "
              "evaluation, prediction and export need --num-classes N with N >= 1")

#: Indices of the weight layers in ``classifier`` (torchvision's layout).
HEAD_LAYERS = (0, 3, 6)
#: Total stride of the trunk: five 2x2 max-pools.
TRUNK_STRIDE = 32


def scaled(width: int, width_mult: float) -> int:
    """A layer width scaled by ``width_mult``, never below one channel."""
    return max(1, int(round(width * width_mult)))


def make_features(layout: list[LayerSpec], *, batch_norm: bool = False,
                  width_mult: float = 1.0, in_chans: int = 3) -> nn.Sequential:
    """The conv trunk of a layout (see :mod:`vggzoo.models.configs`)."""
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
    """fc6, fc7, fc8 as ``Linear`` layers or as 7x7/1x1 convolutions; no
    layers at all for ``num_classes=0`` (a trunk-feature extractor)."""
    if num_classes == 0:
        return nn.Sequential()
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
        if num_classes < 0:
            raise OptionError(f"{num_classes} classes is not allowed: pass --num-classes N with "
                              f"N >= 1 (1000 for ImageNet), or 0 for the pooled trunk features")
        self.fully_conv = fully_conv
        #: The layout and batch-norm flag the trunk was built from (its layer names:
        #: :func:`vggzoo.models.layers.layer_names`).
        self.layout, self.batch_norm = list(layout), batch_norm
        self.num_classes = num_classes
        self.width_mult = width_mult
        self.dropout = dropout
        self.features = make_features(layout, batch_norm=batch_norm,
                                      width_mult=width_mult, in_chans=in_chans)
        self.num_features = [m.out_channels for m in self.features if isinstance(m, nn.Conv2d)][-1]
        self.classifier = make_head(self.num_features, num_classes,
                                    hidden=scaled(HIDDEN_WIDTH, width_mult),
                                    dropout=dropout, fully_conv=fully_conv)
        #: Channels, stride and module of each stage's last ReLU (timm's ``feature_info``).
        self.feature_info = FeatureInfo.of(self.features)
        #: What ``vggzoo.create`` built this model with and what its weights say
        #: (:class:`vggzoo.models.cfg.PretrainedCfg`); None for a VGG built directly.
        self.pretrained_cfg: PretrainedCfg | None = None
        self.register_load_state_dict_pre_hook(_reshape_head_weights)

    # -- forward -----------------------------------------------------------
    def _check_size(self, x: torch.Tensor) -> None:
        if isinstance(x, torch.fx.Proxy):  # FX tracing (create_feature_extractor): no shapes
            return
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

    def forward_head(self, features: torch.Tensor, pre_logits: bool = False) -> torch.Tensor:
        """Class scores from trunk features: a (N, K, h, w) map when fully
        convolutional, (N, K) logits for the FC form.

        ``pre_logits=True`` stops before fc8 and returns the (N, 4096*width)
        fc7 activations (spatially averaged when fully convolutional): the
        penultimate features.  A model without a head (``num_classes=0``)
        returns the spatially averaged trunk features (N, C) either way.
        """
        if self.num_classes == 0:
            return features.mean(dim=(2, 3))
        if not self.fully_conv:
            features = torch.flatten(features, 1)
        if pre_logits:
            hidden = self.classifier[:HEAD_LAYERS[-1]](features)
            return hidden.mean(dim=(2, 3)) if self.fully_conv else hidden
        return self.classifier(features)

    def score_map(self, x: torch.Tensor) -> torch.Tensor:
        """The class score map (N, K, h, w); h = w = 1 for the FC form at 224."""
        if self.num_classes == 0:
            raise OptionError("a model created with num_classes=0 has no class scores; "
                             "reset_classifier(K) gives it a head")
        scores = self.forward_head(self.forward_features(x))
        return scores if self.fully_conv else scores[:, :, None, None]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (N, K): the spatial mean of the score map (dense evaluation);
        pooled trunk features (N, C) when ``num_classes=0``."""
        scores = self.forward_head(self.forward_features(x))
        return scores.mean(dim=(2, 3)) if self.fully_conv and self.num_classes else scores

    def forward_intermediates(self, x: torch.Tensor, indices: int | Sequence[int] | None = None,
                              *, intermediates_only: bool = False,
                              stop_early: bool = False) -> Any:
        """Stage outputs for feature extraction and perceptual losses (timm's API).

        ``indices``: stage numbers 0-4 (relu1_2 ... relu5_3 for VGG16; see
        :attr:`feature_info`), an int n for the last n stages, ``None`` for all.
        Returns ``(final_features, [stage maps])``, or only the list with
        ``intermediates_only``; ``stop_early`` skips the layers after the
        last stage asked for (and the final features).
        """
        take = self.feature_info.resolve(indices)
        modules = {int(self.feature_info[i]["module"].split(".")[1]): i for i in take}
        last = max(modules)
        maps = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in modules:
                maps.append(x)
            if (intermediates_only or stop_early) and index == last:
                return maps
        return maps if intermediates_only else (x, maps)

    def reset_classifier(self, num_classes: int) -> None:
        """A fresh fc8 for ``num_classes`` classes (the trunk, fc6 and fc7
        kept), as fine-tuning on a new label set wants; 0 removes the head
        so the model returns pooled trunk features."""
        if num_classes < 0:
            raise OptionError(f"num_classes must be >= 0, got {num_classes}")
        device = next(self.parameters()).device
        if num_classes == 0:
            self.classifier = nn.Sequential()
        elif self.num_classes == 0:
            self.classifier = make_head(self.num_features, num_classes,
                                        hidden=scaled(HIDDEN_WIDTH, self.width_mult),
                                        dropout=self.dropout, fully_conv=self.fully_conv).to(device)
        else:
            old = self.classifier[HEAD_LAYERS[-1]]
            new = (nn.Conv2d(old.in_channels, num_classes, kernel_size=1) if self.fully_conv
                   else nn.Linear(old.in_features, num_classes))
            self.classifier[HEAD_LAYERS[-1]] = new.to(device)
        self.num_classes = num_classes
        if self.pretrained_cfg is not None:
            self.pretrained_cfg = dataclasses.replace(self.pretrained_cfg,
                                                      num_classes=num_classes, classes=None)

    # -- conversion --------------------------------------------------------
    def get_classifier(self) -> nn.Module:
        """fc8 (``nn.Identity`` when the model has no head)."""
        return self.classifier[HEAD_LAYERS[-1]] if self.num_classes else nn.Identity()


@dataclass(frozen=True)
class FeatureInfo:
    """The stages a VGG trunk offers for feature extraction: for each, the
    last ReLU before a max-pool (relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
    in VGG16: the layers perceptual losses use), its channels, its stride
    and its module name.  Lists like timm's ``feature_info``."""

    stages: tuple[dict[str, Any], ...]

    @classmethod
    def of(cls, features: nn.Sequential) -> "FeatureInfo":
        stages, stride, channels, last_relu, stage, conv = [], 1, 0, None, 1, 0
        for index, layer in enumerate(features):
            if isinstance(layer, nn.Conv2d):
                channels, conv = layer.out_channels, conv + 1
            elif isinstance(layer, nn.ReLU):
                last_relu = index
            elif isinstance(layer, nn.MaxPool2d):
                stages.append({"num_chs": channels, "reduction": stride, "module": f"features.{last_relu}",
                               "name": f"relu{stage}_{conv}", "stage": len(stages)})
                stride, stage, conv = stride * 2, stage + 1, 0
        return cls(tuple(stages))

    def __len__(self) -> int:
        return len(self.stages)

    def __getitem__(self, index: int) -> dict[str, Any]:
        return self.stages[index]

    def __iter__(self):
        return iter(self.stages)

    def resolve(self, indices: int | Sequence[int] | None) -> list[int]:
        """Stage numbers from ``None`` (all), an int n (last n) or a list."""
        count = len(self.stages)
        if indices is None:
            return list(range(count))
        chosen = list(range(count - indices, count)) if isinstance(indices, int) else list(indices)
        bad = [i for i in chosen if not -count <= i < count]
        if bad or not chosen:
            raise OptionError(f"stage indices {bad or chosen} out of range: the trunk has "
                             f"{count} stages, 0-{count - 1}")
        return sorted(i % count for i in chosen)

    def channels(self, indices: int | Sequence[int] | None = None) -> list[int]:
        return [self.stages[i]["num_chs"] for i in self.resolve(indices)]

    def reduction(self, indices: int | Sequence[int] | None = None) -> list[int]:
        return [self.stages[i]["reduction"] for i in self.resolve(indices)]

    def module_name(self, indices: int | Sequence[int] | None = None) -> list[str]:
        return [self.stages[i]["module"] for i in self.resolve(indices)]


class FeatureExtractor(nn.Module):
    """``create(..., features_only=True)``: the trunk up to the last stage
    asked for, returning a list of stage maps (timm's ``features_only``).
    ``feature_info`` lists only the stages returned."""

    def __init__(self, model: VGG, out_indices: int | Sequence[int] | None = None) -> None:
        super().__init__()
        self.out_indices = model.feature_info.resolve(out_indices)
        self.feature_info = FeatureInfo(tuple(model.feature_info[i] for i in self.out_indices))
        last = int(self.feature_info[-1]["module"].split(".")[1])
        self.features = model.features[:last + 1]
        self.pretrained_cfg = model.pretrained_cfg
        self._taps = {int(info["module"].split(".")[1]) for info in self.feature_info}

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        maps = []
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in self._taps:
                maps.append(x)
        return maps


def _reshape_head_weights(module: VGG, state_dict: dict, prefix: str, *_: Any) -> None:
    """Let FC and conv head weights load into each other.

    A Linear fc6 weight (4096, 512*7*7) is the conv weight (4096, 512, 7, 7)
    flattened in C, H, W order (how ``torch.flatten`` lays out the features),
    so a reshape converts without loss either way.
    """
    if module.num_classes == 0:
        return
    for index in HEAD_LAYERS:
        key = f"{prefix}classifier.{index}.weight"
        target = module.classifier[index].weight
        source = state_dict.get(key)
        if (source is not None and source.shape != target.shape
                and source.numel() == target.numel() and source.shape[0] == target.shape[0]):
            state_dict[key] = source.reshape(target.shape)
