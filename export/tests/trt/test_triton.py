"""Triton model repositories, parsed back with Triton's own ModelConfig
protobuf (tritonclient) and checked against the exported model."""

import argparse
import json

import pytest
from google.protobuf import text_format

import vggzoo
from vggzoo.errors import OptionError
from vggzoo_export.cli.trt import add_trt_arguments
from vggzoo_export.trt.sidecar import read_sidecar, sidecar_path
from vggzoo_export.triton.repository import export_triton, write_repository
from vggzoo_export.cli.triton import add_triton_arguments, triton_options, triton_source

from test_trt_sidecar import make_engine

model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2",
                                       reason="tritonclient[grpc] is not installed")


def parse_config(path):
    return text_format.Parse(path.read_text(), model_config_pb2.ModelConfig())


def test_onnxruntime_repository_matches_the_exported_model(tiny_onnx, tmp_path):
    source, model = tiny_onnx
    config_path = write_repository(tmp_path / "repo", source, name="vgg11_tiny", max_batch=16)
    assert config_path == tmp_path / "repo" / "vgg11_tiny" / "config.pbtxt"
    copied = tmp_path / "repo" / "vgg11_tiny" / "1" / "model.onnx"
    assert copied.read_bytes() == source.read_bytes()

    config = parse_config(config_path)
    assert config.name == "vgg11_tiny" and config.backend == "onnxruntime"
    assert config.max_batch_size == 16
    assert config.HasField("dynamic_batching")
    assert config.dynamic_batching.max_queue_delay_microseconds == 100
    (image,) = config.input
    assert image.name == "input" and image.data_type == model_config_pb2.TYPE_FP32
    assert list(image.dims) == [3, -1, -1]
    outputs = {o.name: list(o.dims) for o in config.output}
    k = model.num_classes
    assert outputs == {"logits": [k], "score_map": [k, -1, -1]}
    pre = json.loads(config.parameters["preprocessing"].string_value)
    assert pre == json.loads(json.dumps(vggzoo.PAPER.as_dict()))
    assert config.parameters["min_input_size"].string_value == "224"
    assert config.parameters["model"].string_value == "vgg11"
    text = config_path.read_text()
    assert "# Input: float32 RGB images, NCHW" in text and "(x - mean) / std" in text


def test_tensorrt_repository_lists_every_profile_and_copies_the_sidecar(tmp_path):
    engine, sidecar = make_engine(tmp_path, scales=(256, 384, 512), max_batch=8)
    config_path = write_repository(tmp_path / "repo", engine, name="vgg16", backend="tensorrt",
                                   max_batch=8)
    version = tmp_path / "repo" / "vgg16" / "1"
    assert (version / "model.plan").read_bytes() == engine.read_bytes()
    assert read_sidecar(version / "model.plan") == sidecar
    config = parse_config(config_path)
    assert config.backend == "tensorrt" and config.max_batch_size == 8
    (group,) = config.instance_group
    assert group.kind == model_config_pb2.ModelInstanceGroup.KIND_GPU
    assert list(group.profile) == ["0", "1", "2"]
    assert {o.name: list(o.dims) for o in config.output} == {"logits": [1000],
                                                             "score_map": [1000, -1, -1]}
    assert list(config.input[0].dims) == [3, -1, -1]


def test_repository_errors(tiny_onnx, tmp_path):
    engine, _ = make_engine(tmp_path, max_batch=8)
    with pytest.raises(OptionError, match="at most 8 but --max-batch is 32.*--max-batch 8"):
        write_repository(tmp_path / "repo", engine, name="vgg16", backend="tensorrt",
                         max_batch=32)
    with pytest.raises(OptionError, match="unknown Triton backend 'tensorflow'"):
        write_repository(tmp_path / "repo", tiny_onnx[0], name="m", backend="tensorflow")
    assert not (tmp_path / "repo").exists()


def _parse(*argv):
    parser = argparse.ArgumentParser()
    add_trt_arguments(parser)       # both groups on one parser: --max-batch is shared
    add_triton_arguments(parser)
    return parser.parse_args(list(argv))


def write_from_args(args, model_name, *, onnx_path=None):
    """What ``vggzoo-export --triton`` hands the ``triton`` exporter."""
    source = triton_source(args, onnx_path=onnx_path)
    return export_triton(source, args.triton, **triton_options(args, model_name)).path


def test_cli_arguments_write_the_repository(tiny_onnx, tmp_path):
    args = _parse("--triton", str(tmp_path / "repo"), "--max-batch", "4")
    config = parse_config(write_from_args(args, "vgg11", onnx_path=tiny_onnx[0]))
    assert config.name == "vgg11" and config.max_batch_size == 4
    engine, _ = make_engine(tmp_path, max_batch=4)
    args = _parse("--triton", str(tmp_path / "repo"), "--backend", "tensorrt",
                  "--engine", str(engine), "--triton-name", "vgg16_trt", "--max-batch", "4")
    config = parse_config(write_from_args(args, "vgg16"))
    assert config.name == "vgg16_trt" and config.backend == "tensorrt"
    assert sidecar_path(tmp_path / "repo" / "vgg16_trt" / "1" / "model.plan").is_file()
    with pytest.raises(OptionError, match="add --trt to build one, or --engine PLAN"):
        write_from_args(_parse("--triton", str(tmp_path / "r"), "--backend", "tensorrt"), "vgg16")
