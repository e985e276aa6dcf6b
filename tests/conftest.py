import pytest
import torch

from vggzoo.plugins.testing import write_image_folder


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def fresh_plugins(vggzoo_plugins):
    """A clean plugin state before and after the test (re-loads lazily)."""
    return vggzoo_plugins


@pytest.fixture
def image_folder(tmp_path):
    """``tmp_path/data`` with 2 classes, 4 train and 2 val images each."""
    return write_image_folder(tmp_path / "data")
