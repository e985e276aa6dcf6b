import pytest
import torch


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def fresh_plugins(vggzoo_plugins):
    """A clean plugin state before and after the test (re-loads lazily)."""
    return vggzoo_plugins
