"""Test images: an ImageFolder tree (``DIR/val`` or ``DIR`` itself), read
one by one so that an unreadable file is skipped and reported instead of
ending a long evaluation.

Labels follow torchvision's ``ImageFolder``: class folders sorted by name
are classes 0, 1, 2, ...  (for ILSVRC-2012 the sorted WordNet ids give the
standard label order).  Classes, files and pixels come from
:mod:`vggzoo.data.images`, the same listing and decoder training uses, so a
label means the same class in both.

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

from ..data.images import IMAGE_EXTENSIONS, list_classes, list_images, read_image
from ..errors import DataError

__all__ = ["ImageSet", "LabelledImage", "SkippedImage", "find_images", "read_image", "read_images"]


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
    classes = list_classes(root)
    if not classes:
        raise DataError(f"{root} has no class sub-folders; lay the test images out as "
                        f"{root}/<class name>/<image> (torchvision ImageFolder)")
    files = list_images(root, classes)
    items = [LabelledImage(path, label)
             for label, name in enumerate(classes) for path in files[name]]
    if not items:
        raise DataError(f"no images ({', '.join(IMAGE_EXTENSIONS)}) under {root}/<class>/")
    return ImageSet(root, classes, items)


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
