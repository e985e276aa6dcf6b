"""Names of a VGG trunk's layers (``conv3_3``, ``relu3_3``, ``pool3``, ...).

The names are derived from a layout of :mod:`vggzoo.models.configs` the same
way :func:`vggzoo.models.vgg.make_features` builds the trunk, so every
configuration has them, including C's 1x1 convolutions (``conv3_3`` of C is
its 1x1 layer), the 5x5 layers of B-shallow, A-LRN's ``lrn1`` and the
batch-norm variants (``bn1_1`` between ``conv1_1`` and ``relu1_1``).  Stage
``s`` ends at ``pool{s}``; layer ``k`` of a stage is ``conv{s}_{k}``.

>>> layer_names(LAYOUTS["D"])["relu5_3"], layer_names(LAYOUTS["D"], batch_norm=True)["relu5_3"]
(29, 42)
"""

from __future__ import annotations

from .configs import LRN, M, LayerSpec


def layer_names(layout: list[LayerSpec], *, batch_norm: bool = False) -> dict[str, int]:
    """Each layer's name and its index in ``features`` (torchvision's key numbers)."""
    names: dict[str, int] = {}
    index, stage, conv = 0, 1, 0
    for item in layout:
        if item == M:
            names[f"pool{stage}"] = index
            index, stage, conv = index + 1, stage + 1, 0
        elif item == LRN:
            names[f"lrn{stage}"] = index
            index += 1
        else:
            conv += 1
            kinds = ("conv", "bn", "relu") if batch_norm else ("conv", "relu")
            for kind in kinds:
                names[f"{kind}{stage}_{conv}"] = index
                index += 1
    return names
