import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def fresh_plugins(vggzoo_plugins):
    """A clean plugin state before and after the test (re-loads lazily)."""
    return vggzoo_plugins


def write_image_folder(root, *, classes=2, train_per_class=4, val_per_class=2, size=(20, 28)):
    """A small ImageFolder (train/ and val/) of PNGs; each class has its own
    dominant colour so a model can tell them apart."""
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


@pytest.fixture
def image_folder(tmp_path):
    """``tmp_path/data`` with 2 classes, 4 train and 2 val images each."""
    return write_image_folder(tmp_path / "data")
