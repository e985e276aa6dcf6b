"""The paper's architectures as data (Table 1 of Simonyan & Zisserman, 2015).

A layout is a list read left to right: an ``int`` is a 3x3 conv of that
width, ``(width, k)`` a kxk conv ("same" padding), ``M`` a 2x2 max-pool and
``LRN`` AlexNet's local response normalisation.  Adding a configuration is
one line here plus one :class:`VGGSpec` below; the builder never changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

M = "M"
LRN = "LRN"

LayerSpec = Union[int, tuple[int, int], str]

LAYOUTS: dict[str, list[LayerSpec]] = {
    "A": [64, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M],
    "A-LRN": [64, LRN, M, 128, M, 256, 256, M, 512, 512, M, 512, 512, M],
    "B": [64, 64, M, 128, 128, M, 256, 256, M, 512, 512, M, 512, 512, M],
    # B with each pair of 3x3 convs replaced by one 5x5 (the paper's "shallow net").
    "B-shallow": [(64, 5), M, (128, 5), M, (256, 5), M, (512, 5), M, (512, 5), M],
    "C": [64, 64, M, 128, 128, M, 256, 256, (256, 1), M,
          512, 512, (512, 1), M, 512, 512, (512, 1), M],
    "D": [64, 64, M, 128, 128, M, 256, 256, 256, M, 512, 512, 512, M, 512, 512, 512, M],
    "E": [64, 64, M, 128, 128, M, 256, 256, 256, 256, M,
          512, 512, 512, 512, M, 512, 512, 512, 512, M],
}

#: Width of the two hidden fully-connected layers (fc6, fc7).
HIDDEN_WIDTH = 4096
#: fc6 sees a 7x7 map: the 224 training crop after five stride-2 pools.
HEAD_KERNEL = 7
#: Smallest input the network takes: one 7x7 window of the last pool.
MIN_INPUT_SIZE = 224


@dataclass(frozen=True)
class PaperResult:
    """One row of the paper's Tables 3-6 (ILSVRC-2012 val, errors in %)."""

    table: int
    protocol: str
    train_scale: str
    test_scale: str
    top1_err: float
    top5_err: float


@dataclass(frozen=True)
class VGGSpec:
    """Everything the registry knows about one named network."""

    name: str
    layout: str
    batch_norm: bool = False
    config: str | None = None
    aliases: tuple[str, ...] = ()
    description: str = ""
    #: Parameters in millions as the paper's Table 2 gives them (it gives no FLOPs).
    paper_params_m: int | None = None
    paper_results: tuple[PaperResult, ...] = field(default_factory=tuple)
    #: torchvision weight enum (``torchvision.models.<name>.IMAGENET1K_V1``).
    torchvision_weights: str | None = None


def _r(table, protocol, train, test, top1, top5) -> PaperResult:
    return PaperResult(table, protocol, train, test, top1, top5)


_SINGLE = "single-scale dense"
_MULTI = "multi-scale dense"
_COMBO = "dense + multi-crop"

SPECS: tuple[VGGSpec, ...] = (
    VGGSpec("vgg11", "A", config="A", aliases=("A",), description="VGG-A, 11 weight layers",
            paper_params_m=133,
            paper_results=(_r(3, _SINGLE, "256", "256", 29.6, 10.4),),
            torchvision_weights="VGG11_Weights"),
    VGGSpec("vgg11_lrn", "A-LRN", config="A-LRN", aliases=("A-LRN",),
            description="VGG-A with local response normalisation after conv1",
            paper_params_m=133,
            paper_results=(_r(3, _SINGLE, "256", "256", 29.7, 10.5),)),
    VGGSpec("vgg13", "B", config="B", aliases=("B",), description="VGG-B, 13 weight layers",
            paper_params_m=133,
            paper_results=(_r(3, _SINGLE, "256", "256", 28.7, 9.9),),
            torchvision_weights="VGG13_Weights"),
    VGGSpec("vgg13_shallow", "B-shallow", config="B-shallow",
            description="VGG-B with each pair of 3x3 convs replaced by one 5x5 (paper's shallow net)"),
    VGGSpec("vgg16_c", "C", config="C", aliases=("C",),
            description="VGG-C, 16 weight layers with three 1x1 convs",
            paper_params_m=134,
            paper_results=(_r(3, _SINGLE, "[256;512]", "384", 27.3, 8.8),)),
    VGGSpec("vgg16", "D", config="D", aliases=("D",), description="VGG-D, 16 weight layers",
            paper_params_m=138,
            paper_results=(_r(3, _SINGLE, "256", "256", 27.0, 8.8),
                           _r(3, _SINGLE, "[256;512]", "384", 25.6, 8.1),
                           _r(4, _MULTI, "[256;512]", "256,384,512", 24.8, 7.5),
                           _r(5, _COMBO, "[256;512]", "256,384,512", 24.4, 7.2),
                           _r(6, "fusion D+E, " + _COMBO, "[256;512]", "256,384,512", 23.7, 6.8)),
            torchvision_weights="VGG16_Weights"),
    VGGSpec("vgg19", "E", config="E", aliases=("E",), description="VGG-E, 19 weight layers",
            paper_params_m=144,
            paper_results=(_r(3, _SINGLE, "[256;512]", "384", 25.5, 8.0),
                           _r(4, _MULTI, "[256;512]", "256,384,512", 24.8, 7.5),
                           _r(5, _COMBO, "[256;512]", "256,384,512", 24.4, 7.1),
                           _r(6, "fusion D+E, " + _COMBO, "[256;512]", "256,384,512", 23.7, 6.8)),
            torchvision_weights="VGG19_Weights"),
    VGGSpec("vgg11_bn", "A", batch_norm=True, config="A",
            description="VGG-A with batch norm", torchvision_weights="VGG11_BN_Weights"),
    VGGSpec("vgg13_bn", "B", batch_norm=True, config="B",
            description="VGG-B with batch norm", torchvision_weights="VGG13_BN_Weights"),
    VGGSpec("vgg16_bn", "D", batch_norm=True, config="D",
            description="VGG-D with batch norm", torchvision_weights="VGG16_BN_Weights"),
    VGGSpec("vgg19_bn", "E", batch_norm=True, config="E",
            description="VGG-E with batch norm", torchvision_weights="VGG19_BN_Weights"),
)
