"""The server runs the file on the runner the repository names: an int8
file from ``vggzoo-export --int8`` on ONNX Runtime, and the fp32 file on
OpenVINO (inside the python backend's stub, with its numpy 1.x), each
answering what a local ``vggzoo predict --protocol dense`` with the same
runtime on the same file answers."""

import json

import numpy as np
import pytest
from PIL import Image

import vggzoo
from vggzoo.cli import main as vggzoo_main
from vggzoo_export.cli.main import main as export_main

from serve_helpers import MAX_SIDE, assert_same_predictions


def openvino_missing() -> str | None:
    try:
        import openvino  # noqa: F401
    except ImportError as exc:
        return f"openvino is not installed ({exc})"
    return None


def config_parameters(model_dir):
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    config = text_format.Parse((model_dir / "config.pbtxt").read_text(),
                               model_config_pb2.ModelConfig())
    return {k: v.string_value for k, v in config.parameters.items()}


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    return tmp_path_factory.mktemp("runtimes") / "repo"


@pytest.fixture(scope="module")
def int8_onnx(tiny_vgg16, repo, tmp_path_factory):
    """The tiny VGG16 quantized by the CLI, calibrated on a few random images
    (the agreement is not the point here: the served file is), and written
    as the python-backend model ``int8`` by the same command."""
    folder = tmp_path_factory.mktemp("int8")
    (folder / "calibrate").mkdir()
    rng = np.random.default_rng(1)
    for i in range(6):
        pixels = rng.integers(0, 256, (48 + 8 * i, 64, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / "calibrate" / f"c{i}.png")
    weights = vggzoo.save_weights(tiny_vgg16, folder / "tiny.safetensors")
    out = folder / "tiny.int8.onnx"
    assert export_main(["vgg16", "--weights", str(weights), "--int8", "--calibrate",
                        str(folder / "calibrate"), "--calibration-images", "2",
                        "--agreement-images", "4", "--min-agreement", "0", "-o", str(out),
                        "--triton", str(repo), "--backend", "python", "--triton-name", "int8",
                        "--triton-max-side", str(MAX_SIDE)]) == 0
    return out


@pytest.fixture(scope="module")
def runtimes_server(triton_ready, tiny_onnx, int8_onnx, repo):
    """A server with ``int8`` (the int8 file, ONNX Runtime) and ``ov`` (the
    fp32 file, OpenVINO, written by ``vggzoo-export --onnx F --triton``)."""
    from vggzoo_export.serve.server import start_server

    expected = {"int8": "READY"}
    if not openvino_missing():
        assert export_main(["--onnx", str(tiny_onnx), "--triton", str(repo), "--backend",
                            "python", "--triton-name", "ov", "--triton-max-side", str(MAX_SIDE),
                            "--triton-runtime", "openvino"]) == 0
        expected["ov"] = "READY"
    server = start_server(repo, timeout=120)
    try:
        assert server.states == expected, server.log_tail()
        yield server, repo
    finally:
        server.stop()


def _served_and_local(server, model, photos, tmp_path, local_args):
    paths = [str(p) for p in photos]
    assert vggzoo_main(["predict", *paths, *local_args, "--protocol", "dense",
                        "--json", str(tmp_path / "local.json"), "--no-progress"]) == 0
    assert vggzoo_main(["predict", *paths, "--server", f"grpc://{server.grpc_url}",
                        "--server-model", model, "--json", str(tmp_path / "served.json"),
                        "--no-progress"]) == 0
    assert_same_predictions(tmp_path / "served.json", tmp_path / "local.json")


def test_int8_model_answers_equal_local_int8_predict(runtimes_server, int8_onnx, photos,
                                                     tmp_path):
    server, repo = runtimes_server
    params = config_parameters(repo / "int8")
    assert params["precision"] == "int8" and params["runner"] == "onnxruntime"
    assert (repo / "int8" / "1" / "model.onnx").read_bytes() == int8_onnx.read_bytes()
    _served_and_local(server, "int8", photos, tmp_path, ["--onnx", str(int8_onnx)])


def test_openvino_model_answers_equal_local_openvino_predict(runtimes_server, tiny_onnx, photos,
                                                             tmp_path):
    if openvino_missing():
        pytest.skip(openvino_missing())
    server, repo = runtimes_server
    params = config_parameters(repo / "ov")
    assert params["runner"] == "openvino" and params["precision"] == "fp32"
    assert json.loads(params["vggzoo_facts"])["name"] == "vgg16"
    _served_and_local(server, "ov", photos, tmp_path,
                      ["--backend", "openvino", "--onnx", str(tiny_onnx)])
