"""``vggzoo-export ... --triton REPO --backend python`` writes the model the
bundled server runs: its config parsed with Triton's ModelConfig protobuf."""

import json

import pytest
from google.protobuf import text_format

from vggzoo_export.cli.main import main as export_main

model_config_pb2 = pytest.importorskip("tritonclient.grpc.model_config_pb2",
                                       reason="tritonclient[grpc] is not installed")


def test_cli_writes_a_python_backend_model(tmp_path, capsys):
    repo = tmp_path / "repo"
    assert export_main(["vgg11", "--width-mult", "0.0625", "-o", str(tmp_path / "a.onnx"),
                        "--triton", str(repo), "--backend", "python", "--scales", "224,256",
                        "--triton-max-side", "800", "--max-batch", "4",
                        "--triton-name", "a"]) == 0
    config = text_format.Parse((repo / "a" / "config.pbtxt").read_text(),
                               model_config_pb2.ModelConfig())
    assert config.backend == "python" and config.max_batch_size == 4
    (image,) = config.input
    assert image.data_type == model_config_pb2.TYPE_UINT8 and list(image.dims) == [-1, -1, 3]
    assert image.allow_ragged_batch
    (out,) = config.output
    assert list(out.dims) == [1000] and out.label_filename == "labels.txt"
    assert config.HasField("dynamic_batching")
    params = {k: v.string_value for k, v in config.parameters.items()}
    assert json.loads(params["scales"]) == [224, 256] and params["max_side"] == "800"
    assert params["flip"] == "true" and params["protocol"] == "dense"
    labels = (repo / "a" / "labels.txt").read_text().splitlines()
    assert len(labels) == 1000 and labels[0] == json.loads(params["classes"])[0]
    manifest = json.loads((repo / "a" / "1" / "manifest.json").read_text())
    assert sorted(manifest) == ["model.onnx", "model.py"]
    assert (repo / "a" / "1" / "model.onnx").read_bytes() == (tmp_path / "a.onnx").read_bytes()


def test_python_only_options_are_refused_for_other_backends(tmp_path, capsys):
    code = export_main(["vgg11", "--width-mult", "0.0625", "--triton", str(tmp_path / "r"),
                        "--triton-max-side", "800"])
    err = capsys.readouterr().err
    assert code == 2 and "--triton-max-side only apply to --backend python" in err
    assert not (tmp_path / "r").exists()


def test_bound_below_the_test_scale_is_refused(tmp_path, capsys):
    code = export_main(["vgg11", "--width-mult", "0.0625", "-o", str(tmp_path / "a.onnx"),
                        "--triton", str(tmp_path / "r"), "--backend", "python",
                        "--scales", "256,384", "--triton-max-side", "300"])
    err = capsys.readouterr().err
    assert code == 2 and "at least the largest test scale 384" in err
    assert not (tmp_path / "r" / "vgg11").exists()


def test_a_runtime_that_is_not_installed_is_refused_before_any_work(tmp_path, capsys,
                                                                    monkeypatch):
    import sys

    from vggzoo.cli import main as vggzoo_main

    monkeypatch.setitem(sys.modules, "openvino", None)  # as if openvino were not installed
    code = export_main(["vgg11", "--width-mult", "0.0625", "-o", str(tmp_path / "a.onnx"),
                        "--triton", str(tmp_path / "r"), "--backend", "python",
                        "--triton-runtime", "openvino"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "--triton-runtime openvino is not installed here" in err and "pip install" in err
    assert not (tmp_path / "a.onnx").exists() and not (tmp_path / "r").exists()
    code = vggzoo_main(["serve", "vgg11.tv_in1k", "--runtime", "openvino",
                        "--repository", str(tmp_path / "s")])
    err = capsys.readouterr().err
    assert code == 2 and "--runtime openvino is not installed here" in err
    assert list((tmp_path / "s").iterdir()) == []


def test_the_runtime_is_a_python_backend_option(tmp_path, capsys):
    code = export_main(["vgg11", "--width-mult", "0.0625", "--triton", str(tmp_path / "r"),
                        "--triton-runtime", "openvino"])
    err = capsys.readouterr().err
    assert code == 2 and "--triton-runtime only apply to --backend python" in err
