"""Fixtures for the TensorRT / Triton tests: a tiny fully-convolutional
vggzoo model exported to ONNX, and the tensorrt runner plugin registered."""

from __future__ import annotations

import json
import warnings

import onnx
import pytest
import torch

import vggzoo
import vggzoo.registry
import vggzoo.testing
from vggzoo.testing import TINY_WIDTH
from vggzoo_export.trt import runner as trt_runner_plugin
from vggzoo_export.trt.availability import tensorrt_available

requires_tensorrt = pytest.mark.skipif(not tensorrt_available(),
                                       reason="tensorrt is not installed")
requires_cuda = pytest.mark.skipif(not torch.cuda.is_available(),
                                   reason="needs a CUDA GPU (none is visible)")


class _LogitsAndScoreMap(torch.nn.Module):
    """The two outputs of vggzoo's ONNX export: (N, K) logits and the (N, K, h, w) map."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores = self.model.score_map(x)
        return scores.mean(dim=(2, 3)), scores


def export_tiny_onnx(path, name: str = "vgg11", num_classes: int = 1000) -> torch.nn.Module:
    """Export a tiny fully-convolutional model with dynamic batch, height and
    width (legacy exporter) and vggzoo's metadata; returns the model."""
    model = vggzoo.create(name, fully_conv=True, width_mult=TINY_WIDTH,
                          num_classes=num_classes).eval()
    wrapper = _LogitsAndScoreMap(model).eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            wrapper, torch.randn(1, 3, 224, 224), str(path), dynamo=False, opset_version=17,
            input_names=["image"], output_names=["logits", "score_map"],
            dynamic_axes={"image": {0: "batch", 2: "height", 3: "width"},
                          "logits": {0: "batch"},
                          "score_map": {0: "batch", 2: "map_height", 3: "map_width"}})
    model.eval()  # export restores the wrapper's mode recursively
    proto = onnx.load(str(path))
    for key, value in {"model": name, "num_classes": str(num_classes), "min_input_size": "224",
                       "preprocessing": json.dumps(vggzoo.PAPER.as_dict())}.items():
        proto.metadata_props.add(key=key, value=value)
    onnx.save(proto, str(path))
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
    """The tensorrt runner plugin, registered for this test if the installed
    vggzoo-export entry point has not done it."""
    if "tensorrt" in vggzoo.registry.RUNNERS:
        yield
        return
    with vggzoo.testing.plugin_registered(trt_runner_plugin):
        yield
