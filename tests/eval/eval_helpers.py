"""Fixtures for the evaluation tests: real photos in a tmp ImageFolder and
narrow networks whose class count matches it."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

import vggzoo
from vggzoo.eval.network import Network, network_of
from vggzoo.runtime import TorchRunner
from vggzoo.data.samples import load_photo
from vggzoo.plugins.testing import TINY_WIDTH

CLASSES = 3


def photo(name: str, height: int | None = None, width: int | None = None) -> np.ndarray:
    """A bundled photo, optionally centre-cropped to height x width."""
    image = load_photo(name)
    if height is None:
        return image
    top = (image.shape[0] - height) // 2
    left = (image.shape[1] - width) // 2
    return np.ascontiguousarray(image[top:top + height, left:left + width])


def as_tensor(image: np.ndarray) -> torch.Tensor:
    """(3, H, W) uint8, as the evaluation reads images."""
    return torch.from_numpy(image).permute(2, 0, 1).contiguous()


def save_photo(path, image: np.ndarray) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)


@pytest.fixture
def image_folder(tmp_path):
    """DIR/val/<class>/*.png: five real photos (one class has one image),
    small enough to keep a narrow network's evaluation fast."""
    root = tmp_path / "data"
    val = root / "val"
    save_photo(val / "cat" / "chelsea.png", photo("chelsea", 260, 300))
    save_photo(val / "cat" / "chelsea_wide.png", photo("chelsea", 240, 400))
    save_photo(val / "cup" / "coffee.png", photo("coffee", 300, 360))
    save_photo(val / "cup" / "coffee_small.png", photo("coffee", 230, 230))
    save_photo(val / "person" / "astronaut.png", photo("astronaut", 280, 280))
    return root


def tiny_model(name: str = "vgg11", seed: int = 0) -> torch.nn.Module:
    torch.manual_seed(seed)
    return vggzoo.create(name, num_classes=CLASSES, width_mult=TINY_WIDTH).eval()


def save_checkpoint(model: torch.nn.Module, path, train_scale: str = "256"):
    cfg = model.pretrained_cfg
    return vggzoo.save_weights(model, path, metadata={
        "model": cfg["name"], "train_scale": train_scale, "width_mult": str(cfg["width_mult"]),
        "num_classes": str(cfg["num_classes"]),
        "preprocessing": json.dumps(cfg["preprocessing"].as_dict())})


@pytest.fixture
def checkpoint(tmp_path):
    """A narrow vgg11 trained (in metadata) at fixed S = 256."""
    return save_checkpoint(tiny_model(), tmp_path / "vgg11_s256.safetensors")


@pytest.fixture
def network() -> Network:
    """A narrow vgg11 behind the PyTorch runner."""
    return network_of(TorchRunner(tiny_model()))
