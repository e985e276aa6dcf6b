"""The tensorrt runner: errors without TensorRT or a GPU, and (marked gpu)
real engines built from the tiny model."""

import argparse

import numpy as np
import pytest
import torch

from vggzoo.models.cfg import PretrainedCfg

from vggzoo.errors import BackendUnavailableError, InputSizeError, OptionError
from vggzoo.runtime import create_runner
from vggzoo_export.trt.availability import (missing_tensorrt_error, parse_version,
                                            tensorrt_available)
from vggzoo_export.cli.trt import add_trt_arguments, trt_options
from vggzoo.data.preprocess import Preprocessing
from vggzoo_export.errors import ArtifactError
from vggzoo_export.core.metadata import ExportMetadata
from vggzoo_export.trt.runner import logits_output, split_batch
from vggzoo_export.trt.export import export_tensorrt
from vggzoo_export.trt.sidecar import TensorInfo, read_sidecar

from trt_helpers import requires_cuda, requires_tensorrt

no_tensorrt = pytest.mark.skipif(tensorrt_available(), reason="tensorrt is installed here")


def test_missing_tensorrt_message_names_the_package_and_the_install_command():
    message = str(missing_tensorrt_error())
    assert "'tensorrt'" in message and ">= 10.12" in message
    assert 'pip install "vggzoo-export[tensorrt]"' in message
    assert "NVIDIA's package index" in message


@no_tensorrt
def test_trt_fails_at_once_without_tensorrt(tiny_onnx, tmp_path):
    parser = argparse.ArgumentParser()
    add_trt_arguments(parser)
    args = parser.parse_args(["--trt", "--precision", "fp16"])
    with pytest.raises(BackendUnavailableError, match=r'pip install "vggzoo-export\[tensorrt\]"'):
        export_tensorrt(tiny_onnx[0], tmp_path / "x.plan", **trt_options(args))
    assert not (tmp_path / "x.plan").exists()


@no_tensorrt
def test_tensorrt_backend_without_tensorrt(tensorrt_runner_registered, tmp_path):
    with pytest.raises(BackendUnavailableError, match="TensorRT is not installed"):
        create_runner("tensorrt", engine=tmp_path / "vgg16.plan")


def test_tensorrt_backend_needs_an_engine(tensorrt_runner_registered):
    with pytest.raises(OptionError, match="--engine PLAN"):
        create_runner("tensorrt")
    with pytest.raises(OptionError, match="does not take that option: 'onnx'"):
        create_runner("tensorrt", onnx="vgg16.onnx")
    with pytest.raises(OptionError, match="CUDA GPU"):
        create_runner("tensorrt", engine="vgg16.plan", device="cpu")


def test_helpers_pick_the_logits_read_metadata_and_split_batches():
    outputs = [TensorInfo("score_map", "float32", (-1, 10, -1, -1)),
               TensorInfo("logits", "float32", (-1, 10))]
    assert logits_output(outputs).name == "logits"
    meta = ExportMetadata(PretrainedCfg("vgg11", num_classes=10, preprocessing=Preprocessing(
        "t", (0.5, 0.5, 0.5), (0.2, 0.2, 0.2))), config={}, weights_sha256="0")
    read = ExportMetadata.from_props(meta.to_props(), source="the engine's ONNX file")
    assert read.preprocessing.mean == (0.5, 0.5, 0.5) and read.min_input_size == 224
    with pytest.raises(ArtifactError, match="not a vggzoo export"):
        ExportMetadata.from_props({}, source="the engine's ONNX file")
    assert [p.shape[0] for p in split_batch(torch.zeros(10, 3, 4, 4), 4)] == [4, 4, 2]
    assert parse_version("10.13.0.35") == (10, 13, 0, 35)
    assert parse_version("11.0.0rc1") == (11, 0, 0)


@pytest.mark.gpu
@requires_cuda
@requires_tensorrt
@pytest.mark.parametrize("precision", ["fp32", "fp16", "bf16"])
def test_engine_matches_onnxruntime_and_rejects_shapes_outside_its_profiles(
        tiny_onnx, tmp_path, precision, tensorrt_runner_registered):
    from vggzoo_export.trt.check import onnxruntime_logits

    parser = argparse.ArgumentParser()
    add_trt_arguments(parser)
    args = parser.parse_args(["--trt", "--precision", precision, "--scales", "224,256",
                              "--max-batch", "4", "--max-aspect", "1.5",
                              "--timing-cache", str(tmp_path / "timing.cache")])
    engine = tmp_path / f"tiny-{precision}.plan"
    export_tensorrt(tiny_onnx[0], engine, **trt_options(args))
    sidecar = read_sidecar(engine)
    assert (tmp_path / "timing.cache").stat().st_size > 0
    if precision != "fp32":
        assert sidecar.check["top1_agreement"] == 1.0
    runner = create_runner("tensorrt", engine=engine)
    x = np.random.default_rng(0).uniform(-120, 130, (6, 3, 256, 320)).astype(np.float32)
    got = runner.logits(torch.from_numpy(x))             # 6 > max batch 4: split in two
    want = onnxruntime_logits(tiny_onnx[0])(x)
    scale = np.abs(want).max()
    tolerance = {"fp32": 1e-3, "fp16": 1e-2, "bf16": 3e-2}[precision]
    assert np.abs(got.numpy() - want).max() < tolerance * scale
    with pytest.raises(InputSizeError, match="outside the engine's optimisation profiles"):
        runner.logits(torch.zeros(1, 3, 256, 400))
    runner.close()


def test_strongly_typed_flag_for_tensorrt_10_and_11():
    from enum import IntEnum
    from types import SimpleNamespace

    from vggzoo_export.trt.builder import network_flags

    class Trt10(IntEnum):          # 10.x: EXPLICIT_BATCH = 0, STRONGLY_TYPED = 1
        EXPLICIT_BATCH = 0
        STRONGLY_TYPED = 1

    class Trt11(IntEnum):          # 11.x: EXPLICIT_BATCH gone, STRONGLY_TYPED = 0
        STRONGLY_TYPED = 0

    assert network_flags(SimpleNamespace(NetworkDefinitionCreationFlag=Trt10)) == 0b10
    assert network_flags(SimpleNamespace(NetworkDefinitionCreationFlag=Trt11)) == 0b01
