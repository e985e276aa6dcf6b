"""The paper's multi-crop grid: a regular 5x5 grid of 224x224 crops over the
rescaled image, each also flipped (50 crops per scale).

The grid is mirror-symmetric by construction (the offsets from the right
mirror those from the left), so a flipped crop of a mirrored image is a crop
of the same grid and flip-averaged multi-crop is invariant to mirroring.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from ..errors import InputSizeError

#: Crops per side of the grid (the paper's 5x5).
GRID = 5


class Box(NamedTuple):
    top: int
    left: int
    height: int
    width: int


def grid_offsets(length: int, crop: int, count: int = GRID) -> list[int]:
    """``count`` offsets from 0 to ``length - crop``, evenly spaced and
    symmetric: offset i from the start equals offset i from the end."""
    if length < crop:
        raise InputSizeError(f"cannot place a {crop}-pixel crop in {length} pixels")
    span = length - crop
    if count == 1:
        return [span // 2]
    half = [i * span // (count - 1) for i in range((count + 1) // 2)]
    return half + [span - o for o in reversed(half[:count // 2])]


def grid_boxes(height: int, width: int, crop: int = 224, count: int = GRID) -> list[Box]:
    """The ``count`` x ``count`` crop boxes over a ``height`` x ``width`` image,
    row by row; the four corners are the first, ``count``-th, ... last boxes."""
    return [Box(top, left, crop, crop)
            for top in grid_offsets(height, crop, count)
            for left in grid_offsets(width, crop, count)]


def multi_crops(image: torch.Tensor, crop: int = 224, *, flip: bool = True) -> torch.Tensor:
    """(25 or 50, C, crop, crop): the grid crops of a (C, H, W) image, then
    their horizontal flips."""
    from torchvision.transforms.v2 import functional as F

    boxes = grid_boxes(image.shape[-2], image.shape[-1], crop)
    crops = torch.stack([F.crop(image, *box) for box in boxes])
    return torch.cat([crops, F.horizontal_flip(crops)]) if flip else crops
