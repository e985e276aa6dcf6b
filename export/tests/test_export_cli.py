"""The vggzoo-export command line: export, bench, errors."""

import json

import onnx
import pytest

from vggzoo.plugins.registry import EXPORTERS, RUNNERS
from vggzoo_export.cli.main import main


def test_exporters_and_runners_are_registered_plugins():
    assert {"onnx", "aoti"} <= set(EXPORTERS.names())
    assert {"onnxruntime", "aoti"} <= set(RUNNERS.names())
    assert EXPORTERS.get("onnx").source == RUNNERS.get("onnxruntime").source
    import vggzoo_export
    from vggzoo_export.onnx.runner import OrtRunner

    assert vggzoo_export.OrtRunner is OrtRunner  # the public name of the issue


def test_export_command_writes_a_checked_file_and_its_protocol_graph(tmp_path, capsys):
    out = tmp_path / "a.onnx"
    assert main(["A", "--width-mult", "0.0625", "--num-classes", "7", "-o", str(out),
                 "--protocol", "dense", "--scales", "224,256"]) == 0
    printed = capsys.readouterr()
    assert "parity passed" in printed.out and "RANDOM weights" in printed.err
    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    assert props["vggzoo.model"] == "vgg11" and json.loads(props["vggzoo.config"])["num_classes"] == 7
    dense = {p.key: p.value for p in onnx.load(str(tmp_path / "a.dense.onnx")).metadata_props}
    assert json.loads(dense["vggzoo.protocol"])["scales"] == [224, 256]


def test_protocol_with_a_fixed_batch_is_refused_before_writing(tmp_path, capsys):
    assert main(["A", "--width-mult", "0.0625", "-o", str(tmp_path / "a.onnx"), "--batch", "2",
                 "--protocol", "dense"]) == 2
    assert "needs --format onnx and a dynamic batch" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_unknown_model_gets_close_matches(capsys):
    assert main(["vgg61"]) == 2
    err = capsys.readouterr().err
    assert "unknown model 'vgg61'" in err and "Did you mean" in err and "Traceback" not in err


def test_unknown_format_and_unsupported_option(capsys):
    assert main(["vgg11", "--format", "onyx", "--width-mult", "0.0625"]) == 2
    assert "unknown exporter 'onyx'. Did you mean: onnx" in capsys.readouterr().err
    assert main(["vgg11", "--format", "aoti", "--opset", "17", "--width-mult", "0.0625"]) == 2
    assert "does not take that option" in capsys.readouterr().err


def test_bench_command_prints_and_writes_ratios(tiny_onnx, tmp_path, capsys):
    out = tmp_path / "bench.json"
    assert main(["bench", str(tiny_onnx), "--sizes", "224,256x288", "--batch", "1",
                 "--compare", "torch", "--warmup", "1", "--repeat", "2", "--json", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "p50 ms" in printed and "vs torch" in printed and "CPU flags" in printed
    data = json.loads(out.read_text())
    rows = data["rows"]
    assert {r["runtime"] for r in rows} == {"torch", "onnxruntime (CPU)"}
    assert {r["input"] for r in rows} == {"224x224", "256x288"}
    ort_row = next(r for r in rows if r["runtime"] != "torch" and r["input"] == "224x224")
    assert ort_row["vs_torch"] > 0 and ort_row["gflops"] > 0 and ort_row["p90_ms"] >= ort_row["p50_ms"]
    assert data["cpu"]["model_name"]


def test_bench_of_a_missing_or_foreign_file_is_one_line(tmp_path, capsys):
    assert main(["bench", str(tmp_path / "nope.onnx")]) == 2
    assert "does not exist" in capsys.readouterr().err
    (tmp_path / "x.txt").write_text("hi")
    assert main(["bench", str(tmp_path / "x.txt")]) == 2
    assert "expected an .onnx or .pt2" in capsys.readouterr().err


def test_demo_photo_batches_are_real_preprocessed_photos():
    from vggzoo_export.demo import photo_cases

    import vggzoo

    cases = photo_cases(vggzoo.PAPER, [224, 256])
    assert [c.batch.shape for c in cases] == [(3, 3, 224, 224), (3, 3, 256, 256)]
    assert [c.label for c in cases] == ["Q=224 photos", "Q=256 photos"]
    assert cases[0].batch.std() > 10  # mean-subtracted 0-255 pixels, not noise or zeros


# -- --trt and --triton (TensorRT itself is absent here) ------------------------

def test_trt_without_tensorrt_fails_at_once_naming_the_install_command(tmp_path, capsys,
                                                                         monkeypatch):
    from vggzoo_export.trt.availability import tensorrt_available

    if tensorrt_available():
        pytest.skip("tensorrt is installed here")
    monkeypatch.chdir(tmp_path)
    assert main(["A", "--width-mult", "0.0625", "--trt", "--precision", "fp16"]) == 2
    err = capsys.readouterr().err
    assert 'pip install "vggzoo-export[tensorrt]"' in err
    assert list(tmp_path.iterdir()) == []  # nothing was exported first


def test_trt_profile_options_are_checked_before_any_work(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["A", "--width-mult", "0.0625", "--trt", "--min", "1x3x224x224"]) == 2
    assert "give --min, --opt and --max together" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_triton_repository_from_a_fresh_export(tmp_path, capsys, monkeypatch):
    from google.protobuf import text_format
    from tritonclient.grpc import model_config_pb2

    monkeypatch.chdir(tmp_path)
    assert main(["A", "--width-mult", "0.0625", "--num-classes", "5", "--triton", "repo",
                 "--max-batch", "4"]) == 0
    assert "Triton model repository" in capsys.readouterr().out
    config = text_format.Parse((tmp_path / "repo" / "vgg11" / "config.pbtxt").read_text(),
                               model_config_pb2.ModelConfig())
    assert config.backend == "onnxruntime" and config.max_batch_size == 4
    assert {o.name: list(o.dims) for o in config.output} == {"logits": [5],
                                                             "score_map": [5, -1, -1]}
    exported = onnx.load(str(tmp_path / "repo" / "vgg11" / "1" / "model.onnx"))
    assert {p.key: p.value for p in exported.metadata_props}["vggzoo.model"] == "vgg11"


def test_triton_tensorrt_backend_needs_an_engine(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["A", "--width-mult", "0.0625", "--triton", "repo", "--backend", "tensorrt"]) == 2
    assert "needs an engine: add --trt" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_bench_int8_channels_last_and_dense_rows_with_fp32_ratios(tiny_vgg16, tmp_path, capsys):
    """An int8 file beside its fp32 file and PyTorch's plain and default
    layouts, including the dense protocol per image; every row has its
    ratio to plain eager and to the fastest fp32 runtime of its case."""
    from PIL import Image

    from vggzoo.data.samples import load_photo
    from vggzoo_export.onnx.int8 import export_int8
    from vggzoo_export.onnx.export import export_onnx

    photos = tmp_path / "photos"
    photos.mkdir()
    for i in range(8):
        Image.fromarray(load_photo(("chelsea", "coffee")[i % 2])[9 * i:9 * i + 240, :260]) \
            .save(photos / f"{i}.png")
    fp32 = export_onnx(tiny_vgg16, tmp_path / "t.onnx").path
    int8 = export_int8(tiny_vgg16, tmp_path / "t.int8.onnx", calibrate=photos,
                       calibration_images=2, min_agreement=0.0).path
    out = tmp_path / "bench.json"
    assert main(["bench", str(fp32), str(int8), "--sizes", "224", "--dense", "224,256",
                 "--compare", "torch", "--compare", "torch-channels-last", "--providers", "cpu",
                 "--warmup", "1", "--repeat", "2", "--json", str(out)]) == 0
    assert "vs best fp32" in capsys.readouterr().out
    data = json.loads(out.read_text())
    rows = {(r["runtime"], r["input"]): r for r in data["rows"]}
    runtimes = {r for r, _ in rows}
    assert runtimes == {"torch", "torch channels_last", "onnxruntime (CPU)",
                        "onnxruntime (CPU) int8"}
    assert {i for _, i in rows} == {"224x224", "dense 224,256 +flip"}
    for (runtime, case), row in rows.items():
        fp32_rows = [r for (n, c), r in rows.items() if c == case and r["precision"] == "fp32"]
        best = min(r["p50_ms"] for r in fp32_rows)
        assert row["vs_best_fp32"] == pytest.approx(best / row["p50_ms"])
        assert row["precision"] == ("int8" if runtime.endswith("int8") else "fp32")
    dense = rows[("torch", "dense 224,256 +flip")]
    assert dense["batch"] == 1  # one image: 2 scales x (image + flip)
    assert "load_average" in data
