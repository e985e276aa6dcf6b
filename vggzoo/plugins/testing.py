"""Helpers for testing vggzoo plugins.

>>> from vggzoo.plugins.testing import plugin_registered
>>> with plugin_registered(my_plugin):
...     vggzoo.create("my-model")
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import manager as plugins

#: A ``width_mult`` that keeps every model small enough for unit tests
#: (a VGG16 forward pass at 224-512 pixels costs milliseconds).
TINY_WIDTH = 1 / 16


@contextlib.contextmanager
def plugin_registered(plugin: Any, name: str | None = None) -> Iterator[str]:
    """Register ``plugin`` for the duration of a ``with`` block (or a test)."""
    registered = plugins.register(plugin, name=name)
    try:
        yield registered
    finally:
        plugins.unregister(plugin)


def write_image_folder(root: Path, *, classes: int = 2, train_per_class: int = 4,
                       val_per_class: int = 2, size: tuple[int, int] = (20, 28)) -> Path:
    """A small ImageFolder (``train/`` and ``val/``) of PNGs for training
    tests; each class has its own dominant colour so a model can tell them
    apart.  Returns ``root``."""
    import numpy as np
    from PIL import Image

    rng = np.random.default_rng(0)
    for split, count in (("train", train_per_class), ("val", val_per_class)):
        for c in range(classes):
            folder = root / split / f"class{c}"
            folder.mkdir(parents=True, exist_ok=True)
            for i in range(count):
                pixels = rng.integers(0, 60, size=(*size, 3), dtype=np.uint8)
                pixels[..., c % 3] += 180
                Image.fromarray(pixels).save(folder / f"{i}.png")
    return root


def hub_cached_weights(model: Any, torch_home: Path, file_name: str, **facts: Any):
    """Save ``model``'s state dict where the torch hub cache under
    ``torch_home`` keeps ``file_name`` and describe it as named weights (its
    SHA-256 and the given ``facts``, e.g. ``preprocessing``, ``num_classes``),
    ready for a plugin's ``vggzoo_register_weights`` in a test.

    >>> spec = hub_cached_weights(model, tmp_path, "tiny-abc.pth", preprocessing=TORCHVISION,
    ...                           num_classes=3, width_mult=0.0625)
    """
    import hashlib

    import torch

    from ..weights.named import NamedWeights

    path = Path(torch_home) / "hub" / "checkpoints" / file_name
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(model.state_dict(), path)
    return NamedWeights(model=model.pretrained_cfg.name, file_name=file_name,
                        sha256=hashlib.sha256(path.read_bytes()).hexdigest(), **facts)
