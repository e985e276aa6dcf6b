"""The ImageFolder layout (``DIR/train/CLASS/*.png``, ``DIR/val/CLASS/...``)
checked before training starts, and a dataset that survives bad files.

A corrupt or unreadable image must never end a multi-day run: it is logged,
skipped, and counted (the epoch summary reports the count).  Layout problems,
on the other hand, are errors before the first step, with the fix in the
message.  Augmentation randomness is seeded per (run seed, epoch, image), so
an image sees the same crop, flip and colour shift whichever worker loads it,
after a resume, and with any number of processes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
from torch.utils.data import default_collate
from torchvision.datasets import ImageFolder

from ..errors import DataError
from .images import IMAGE_EXTENSIONS, has_images, list_classes, list_images, load_image

log = logging.getLogger("vggzoo.data")
SPLITS = ("train", "val")


def check_layout(root: str | Path, num_classes: int | None = None) -> list[str]:
    """The class names of ``root/train`` after checking that ``root/train`` and
    ``root/val`` exist, every class has images, both splits have the same
    classes, and (when given) there are ``num_classes`` of them."""
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"data directory {root} does not exist; pass --data DIR with "
                        f"DIR/train/CLASS/*.jpg and DIR/val/CLASS/*.jpg")
    classes: dict[str, list[str]] = {}
    for split in SPLITS:
        split_dir = root / split
        if not split_dir.is_dir():
            raise DataError(f"{split_dir} does not exist: the data directory needs train/ and "
                            f"val/ subdirectories, each with one folder per class")
        names = list_classes(split_dir)
        if not names:
            raise DataError(f"{split_dir} has no class folders; put each class's images in "
                            f"{split_dir}/CLASS_NAME/")
        empty = [n for n in names if not has_images(split_dir, n)]
        if empty:
            raise DataError(f"class folder(s) {', '.join(empty)} in {split_dir} hold no images "
                            f"({', '.join(IMAGE_EXTENSIONS)}); add images or remove the folder")
        classes[split] = names
    if classes["train"] != classes["val"]:
        only_train = sorted(set(classes["train"]) - set(classes["val"]))
        only_val = sorted(set(classes["val"]) - set(classes["train"]))
        raise DataError(f"train/ and val/ of {root} have different classes (only in train: "
                        f"{only_train or '-'}, only in val: {only_val or '-'}); use the same "
                        f"class folders in both")
    found = len(classes["train"])
    if num_classes is not None and num_classes != found:
        raise DataError(f"the model has {num_classes} classes but {root / 'train'} has {found} "
                        f"class folders; pass --num-classes {found} or fix the data")
    return classes["train"]


def _loader_or_none(path: str) -> Any:
    try:
        return load_image(path)
    except Exception as exc:  # any decoder error: skip this file, keep training
        log.warning("skipping unreadable image %s: %s: %s", path, type(exc).__name__, exc)
        return None


class SkippingImageFolder(ImageFolder):
    """:class:`torchvision.datasets.ImageFolder` whose unreadable images come
    back as ``None`` (dropped and counted by :func:`collate_skipping`), with
    augmentations seeded per (seed, epoch, index).  Classes and files are
    listed by :mod:`vggzoo.data.images` (hidden folders are not classes; link
    loops are not followed; each file once), the same listing evaluation uses,
    and every image is decoded by :func:`vggzoo.data.images.load_image`.

    Set :attr:`epoch` before each epoch's ``DataLoader`` iterator is created.
    """

    def __init__(self, root: str | Path, transform: Callable | None, *, seed: int = 0) -> None:
        super().__init__(str(root), transform=transform, loader=_loader_or_none)
        self.seed = seed
        self.epoch = 0

    def find_classes(self, directory: str | Path) -> tuple[list[str], dict[str, int]]:
        classes = list_classes(directory)
        if not classes:
            raise DataError(f"{directory} has no class folders; put each class's images in "
                            f"{directory}/CLASS_NAME/")
        return classes, {name: i for i, name in enumerate(classes)}

    @staticmethod
    def make_dataset(directory: str | Path, class_to_idx: dict[str, int],
                     extensions: tuple[str, ...] | None = None,
                     is_valid_file: Callable[[str], bool] | None = None,
                     allow_empty: bool = False) -> list[tuple[str, int]]:
        files = list_images(directory, list(class_to_idx))
        return [(str(path), class_to_idx[name]) for name, paths in files.items() for path in paths]

    def sample_seed(self, index: int) -> int:
        return (self.seed * 1_000_003 + self.epoch) * 10_000_019 + index

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int] | None:
        path, target = self.samples[index]
        image = self.loader(path)
        if image is None:
            return None
        if self.transform is not None:
            with torch.random.fork_rng(devices=[]):
                # Only the CPU generator: torch.manual_seed would also queue
                # seeds for every accelerator backend, costing ms per image.
                torch.default_generator.manual_seed(self.sample_seed(index))
                image = self.transform(image)
        return image, target


def collate_skipping(batch: Sequence[tuple[torch.Tensor, int] | None]
                     ) -> tuple[torch.Tensor, torch.Tensor, int]:
    """``(images, targets, number skipped)``; a batch of only bad images gives
    empty tensors so every process still takes its step."""
    good = [item for item in batch if item is not None]
    skipped = len(batch) - len(good)
    if not good:
        return torch.empty(0, 3, 0, 0), torch.empty(0, dtype=torch.long), skipped
    images, targets = default_collate(good)
    return images, targets, skipped
