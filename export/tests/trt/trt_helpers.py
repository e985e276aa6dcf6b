"""Fixtures for the TensorRT / Triton tests: a tiny fully-convolutional
vggzoo model exported to ONNX, and the tensorrt runner plugin registered."""

from __future__ import annotations


import pytest
import torch

import vggzoo
import vggzoo.plugins.registry
from vggzoo.plugins.testing import TINY_WIDTH
from vggzoo_export.onnx.export import export_onnx
from vggzoo_export.trt.availability import tensorrt_available

requires_tensorrt = pytest.mark.skipif(not tensorrt_available(),
                                       reason="tensorrt is not installed")
requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                   reason="needs a CUDA GPU (none is visible)")


def export_tiny_onnx(path, name: str = "vgg11", num_classes: int = 1000) -> torch.nn.Module:
    """Export a tiny fully-convolutional model with vggzoo-export (dynamic
    batch, height and width, vggzoo metadata); returns the model."""
    model = vggzoo.create(name, fully_conv=True, width_mult=TINY_WIDTH,
                          num_classes=num_classes).eval()
    export_onnx(model, path)
    return model


@pytest.fixture(scope="session")
def tiny_onnx(tmp_path_factory):
    """(path, torch model) of a tiny exported vgg11."""
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("onnx") / "vgg11_tiny.onnx"
    model = export_tiny_onnx(path)
    return path, model


@pytest.fixture
def tensorrt_runner_registered():
    """The tensorrt runner comes with vggzoo-export's plugin (registered by
    the autouse fixture of export/tests/conftest.py)."""
    assert "tensorrt" in vggzoo.plugins.registry.RUNNERS
    yield
