import pytest
import torch

import vggzoo


@pytest.fixture(autouse=True)
def _seed():
    torch.manual_seed(0)


@pytest.fixture
def fresh_plugins():
    """A clean plugin state before and after the test (re-loads lazily)."""
    vggzoo.plugins.reset()
    yield vggzoo.plugins
    vggzoo.plugins.reset()
