"""Engine sidecars: what loading checks before TensorRT sees the engine."""

import json

import pytest

import vggzoo
from vggzoo.models.cfg import PretrainedCfg

from vggzoo_export.core.metadata import ExportMetadata
from vggzoo_export.trt.profiles import derive_profiles
from vggzoo_export.trt.sidecar import (EngineMismatchError, EngineSidecar, GpuInfo, TensorInfo,
                                       check_environment, read_sidecar, rebuild_command,
                                       sha256_file, sidecar_path, verify_engine_file,
                                       write_sidecar)

H100 = GpuInfo("NVIDIA H100 80GB HBM3", "9.0")


def make_engine(tmp_path, *, scales=(256, 384), max_batch=8, payload=b"serialized engine"):
    """An engine file (its bytes are opaque to these checks) and its sidecar."""
    engine = tmp_path / "vgg16.plan"
    engine.write_bytes(payload)
    sidecar = EngineSidecar(
        tensorrt_version="10.13.0.35", gpu=H100, precision="fp16",
        profiles=derive_profiles(scales, max_batch=max_batch),
        inputs=[TensorInfo("image", "float32", (-1, 3, -1, -1))],
        outputs=[TensorInfo("logits", "float32", (-1, 1000)),
                 TensorInfo("score_map", "float32", (-1, 1000, -1, -1))],
        source_onnx={"path": "vgg16.onnx", "sha256": "ab" * 32},
        engine_sha256=sha256_file(engine), vggzoo_version="0.1.0",
        vggzoo_export_version="0.1.0",
        onnx_metadata=ExportMetadata(PretrainedCfg("vgg16", preprocessing=vggzoo.PAPER),
                                     config={}, weights_sha256="0").to_props(),
        build={"scales": list(scales), "max_batch": max_batch, "max_aspect": 2.0})
    write_sidecar(engine, sidecar)
    return engine, sidecar


def test_sidecar_round_trip_records_what_the_issue_asks_for(tmp_path):
    engine, sidecar = make_engine(tmp_path)
    assert sidecar_path(engine).name == "vgg16.plan.json"
    data = json.loads(sidecar_path(engine).read_text())
    for key in ("tensorrt_version", "gpu", "profiles", "precision", "source_onnx",
                "vggzoo_version"):
        assert key in data
    assert data["gpu"] == {"name": "NVIDIA H100 80GB HBM3", "compute_capability": "9.0"}
    assert data["profiles"][0] == {"min": [1, 3, 256, 256], "opt": [8, 3, 256, 256],
                                   "max": [8, 3, 512, 512]}
    assert read_sidecar(engine) == sidecar


def test_the_same_tensorrt_and_gpu_pass(tmp_path):
    engine, sidecar = make_engine(tmp_path)
    check_environment(sidecar, engine, tensorrt_version="10.13.0.35", gpu=H100)
    verify_engine_file(sidecar, engine)


def test_another_tensorrt_version_says_to_rebuild_with_the_command(tmp_path):
    engine, sidecar = make_engine(tmp_path)
    with pytest.raises(EngineMismatchError) as err:
        check_environment(sidecar, engine, tensorrt_version="11.1.0.4", gpu=H100)
    message = str(err.value)
    assert "TensorRT 10.13.0.35" in message and "TensorRT 11.1.0.4" in message
    assert ("vggzoo-export vgg16 --trt --onnx vgg16.onnx -o " + str(engine) +
            " --precision fp16 --scales 256,384 --max-batch 8 --max-aspect 2.0") in message


def test_another_gpu_architecture_is_refused_and_another_card_warns(tmp_path):
    engine, sidecar = make_engine(tmp_path)
    with pytest.raises(EngineMismatchError, match=r"built for NVIDIA H100.*9\.0.*NVIDIA A10G "
                                                  r"\(compute capability 8\.6\).*Rebuild"):
        check_environment(sidecar, engine, tensorrt_version="10.13.0.35",
                          gpu=GpuInfo("NVIDIA A10G", "8.6"))
    with pytest.warns(RuntimeWarning, match="tuned on NVIDIA H100.*runs on NVIDIA H200"):
        check_environment(sidecar, engine, tensorrt_version="10.13.0.35",
                          gpu=GpuInfo("NVIDIA H200", "9.0"))


def test_missing_corrupt_or_stale_sidecars_are_clear_errors(tmp_path):
    engine, sidecar = make_engine(tmp_path)
    engine.write_bytes(b"an engine from another build")
    with pytest.raises(EngineMismatchError, match="does not match its sidecar.*Rebuild both"):
        verify_engine_file(sidecar, engine)
    sidecar_path(engine).write_text("{not json")
    with pytest.raises(EngineMismatchError, match="cannot read engine sidecar"):
        read_sidecar(engine)
    sidecar_path(engine).write_text(json.dumps({"format": "something else"}))
    with pytest.raises(EngineMismatchError, match="not 'vggzoo-tensorrt-engine'"):
        read_sidecar(engine)
    sidecar_path(engine).unlink()
    with pytest.raises(EngineMismatchError, match="has no sidecar vgg16.plan.json"):
        read_sidecar(engine)
    with pytest.raises(EngineMismatchError, match="does not exist"):
        read_sidecar(tmp_path / "missing.plan")


def test_rebuild_command_for_an_explicit_profile(tmp_path):
    engine, sidecar = make_engine(tmp_path)
    sidecar.build = {}
    assert rebuild_command(sidecar, engine).endswith(
        "--min 1x3x256x256 --opt 8x3x256x256 --max 8x3x512x512")
