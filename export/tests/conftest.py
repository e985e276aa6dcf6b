import pytest
import torch

import vggzoo
from vggzoo.plugins.testing import TINY_WIDTH


@pytest.fixture(autouse=True)
def _export_plugin_registered():
    """Until the lead reinstalls ./export, its entry point is not active:
    register the plugin the way an installed one would be."""
    from vggzoo_export.plugin import ensure_registered

    ensure_registered()
    yield


@pytest.fixture(scope="session")
def tiny_vgg16():
    torch.manual_seed(0)
    return vggzoo.create("vgg16", fully_conv=True, width_mult=TINY_WIDTH).eval()


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory, tiny_vgg16):
    """A tiny VGG16 exported once for the whole session."""
    from vggzoo_export.plugin import ensure_registered
    from vggzoo_export.onnx.export import export_onnx

    ensure_registered()
    path = tmp_path_factory.mktemp("onnx") / "tiny_vgg16.onnx"
    export_onnx(tiny_vgg16, path)
    return path
