"""Test images: an ImageFolder tree (``DIR/val`` or ``DIR`` itself), read
one by one so that an unreadable file is skipped and reported instead of
ending a long evaluation.

Labels follow torchvision's ``ImageFolder``: class folders sorted by name
are classes 0, 1, 2, ...  (for ILSVRC-2012 the sorted WordNet ids give the
standard label order).

>>> images = find_images("imagenet")          # uses imagenet/val
>>> images.classes[:2], len(images)
(['n01440764', 'n01443537'], 50000)
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from PIL import Image, UnidentifiedImageError
from torchvision.datasets.folder import IMG_EXTENSIONS
from torchvision.transforms.v2 import functional as F

from ..errors import DataError


@dataclass(frozen=True)
class LabelledImage:
    path: Path
    label: int


@dataclass(frozen=True)
class SkippedImage:
    """An image left out of the evaluation, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class ImageSet:
    """The labelled test images of one directory, in a fixed order."""

    root: Path
    classes: list[str]
    items: list[LabelledImage]

    def __len__(self) -> int:
        return len(self.items)

    def shard(self, rank: int, world_size: int) -> list[LabelledImage]:
        """Every ``world_size``-th image from ``rank``: disjoint shards whose
        union is the whole set, so reduced counts equal one process's."""
        return self.items[rank::world_size]


def find_images(data: str | os.PathLike) -> ImageSet:
    """The images of an ImageFolder tree: ``data/val/<class>/*`` when
    ``data/val`` exists, else ``data/<class>/*``."""
    root = Path(data)
    if not root.is_dir():
        raise DataError(f"data directory {root} does not exist; pass a folder with one "
                        f"sub-folder of images per class (or its parent holding val/)")
    if (root / "val").is_dir():
        root = root / "val"
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise DataError(f"{root} has no class sub-folders; lay the test images out as "
                        f"{root}/<class name>/<image> (torchvision ImageFolder)")
    items = [LabelledImage(path, label)
             for label, name in enumerate(classes)
             for path in sorted((root / name).rglob("*"))
             if path.is_file() and path.suffix.lower() in IMG_EXTENSIONS]
    if not items:
        raise DataError(f"no images ({', '.join(IMG_EXTENSIONS)}) under {root}/<class>/")
    return ImageSet(root, classes, items)


def read_image(path: Path) -> torch.Tensor:
    """An RGB uint8 (3, H, W) tensor; raises ``OSError``/``ValueError`` on a
    file that is not a readable image."""
    with Image.open(path) as image:
        return F.pil_to_tensor(image.convert("RGB"))


READ_ERRORS = (OSError, ValueError, UnidentifiedImageError, Image.DecompressionBombError)


def read_images(items: Sequence[LabelledImage], chunk_size: int,
                skipped: list[SkippedImage]) -> Iterator[tuple[list[torch.Tensor], list[int]]]:
    """Chunks of (images, labels); unreadable files go to ``skipped``."""
    images: list[torch.Tensor] = []
    labels: list[int] = []
    for item in items:
        try:
            images.append(read_image(item.path))
        except READ_ERRORS as exc:
            skipped.append(SkippedImage(str(item.path), f"{type(exc).__name__}: {exc}"))
            continue
        labels.append(item.label)
        if len(images) == chunk_size:
            yield images, labels
            images, labels = [], []
    if images:
        yield images, labels
