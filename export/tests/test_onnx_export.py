"""ONNX export: correct at every size >= 224, metadata, atomic writes."""

import json
import os
import shutil

import onnx
import pytest
import torch

import vggzoo
from vggzoo.errors import InputSizeError
from vggzoo.runtime import create_runner
from vggzoo.plugins.testing import TINY_WIDTH
from vggzoo_export.onnx import export as onnx_export
from vggzoo_export.errors import ArtifactError, ExportError, ParityError
from vggzoo_export.core.metadata import sha256_file
from vggzoo_export.onnx.export import export_onnx
from vggzoo_export.onnx.runner import OrtRunner


@pytest.mark.parametrize("size", [(224, 224), (256, 256), (288, 352), (384, 384), (512, 512)],
                         ids=lambda s: f"{s[0]}x{s[1]}")
def test_onnx_runtime_matches_pytorch_at_every_size(tiny_onnx, tiny_vgg16, size):
    x = torch.randn(2, 3, *size)
    with OrtRunner(tiny_onnx, "cpu") as runner, torch.inference_mode():
        logits, score_map = runner.logits(x), runner.score_map(x)
        expected_map = tiny_vgg16.score_map(x)
    assert score_map.shape == expected_map.shape == (2, 1000, size[0] // 32 - 6, size[1] // 32 - 6)
    assert (score_map - expected_map).abs().max() <= 1e-4
    assert (logits - expected_map.mean(dim=(2, 3))).abs().max() <= 1e-4


def test_graph_has_dynamic_batch_height_width_and_both_outputs(tiny_onnx):
    graph = onnx.load(str(tiny_onnx), load_external_data=False).graph
    dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 3, "height", "width"]
    assert [o.name for o in graph.output] == ["score_map", "logits"]
    assert not any(n.op_type in ("GlobalAveragePool", "AveragePool", "Flatten") for n in graph.node)


def test_metadata_round_trip_with_weights_file(tmp_path):
    fc = vggzoo.create("vgg11", num_classes=10, width_mult=TINY_WIDTH)
    weights = vggzoo.save_weights(fc, tmp_path / "w.safetensors")
    model = vggzoo.create("vgg11", num_classes=10, width_mult=TINY_WIDTH, weights=weights)
    report = export_onnx(model, tmp_path / "m.onnx")
    with OrtRunner(report.path, "cpu") as runner:
        meta = runner.metadata
        assert runner.num_classes == 10 and runner.min_input_size == 224
        assert runner.preprocessing == vggzoo.PAPER
    assert meta == report.metadata
    assert meta.model == "vgg11" and meta.facts.config == "A"
    assert meta.facts.width_mult == TINY_WIDTH and meta.config["batch"] == "dynamic"
    assert meta.weights == str(weights) and meta.weights_sha256 == sha256_file(weights)
    assert meta.vggzoo_version == vggzoo.__version__ and meta.classes is None
    props = {p.key: p.value for p in onnx.load(str(report.path)).metadata_props}
    assert json.loads(props["vggzoo.preprocessing"])["name"] == "mean-rgb"


def test_imagenet_exports_carry_class_names(tiny_onnx):
    with OrtRunner(tiny_onnx, "cpu") as runner:
        assert len(runner.metadata.classes) == 1000 and runner.metadata.classes[0] == "tench"


def _left_over(directory):
    return sorted(p.name for p in directory.iterdir())


def test_parity_failure_writes_nothing_and_keeps_the_old_file(tmp_path, monkeypatch):
    model = vggzoo.create("vgg11", width_mult=TINY_WIDTH)
    target = tmp_path / "m.onnx"
    target.write_bytes(b"previous export")
    broken = onnx_export.ScoreMapAndLogits.forward

    def off_by_a_bit(self, x):  # what a frozen-pooling bug looks like off the traced size
        scores, logits = broken(self, x)
        return scores, logits + 1e-3 * x.shape[-1]

    monkeypatch.setattr(onnx_export.ScoreMapAndLogits, "forward", off_by_a_bit)
    with pytest.raises(ParityError, match="disagrees with PyTorch at 224x224"):
        export_onnx(model, target)
    assert _left_over(tmp_path) == ["m.onnx"] and target.read_bytes() == b"previous export"


def test_missing_output_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ExportError, match="does not exist"):
        export_onnx(vggzoo.create("vgg11", width_mult=TINY_WIDTH), tmp_path / "no" / "m.onnx")
    assert _left_over(tmp_path) == []


def test_unwritable_output_folder_is_a_clear_error(tmp_path, monkeypatch):
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(tmp_path)
                        else real_access(p, mode))  # chmod does not bind root
    with pytest.raises(ExportError, match="not writable"):
        export_onnx(vggzoo.create("vgg11", width_mult=TINY_WIDTH), tmp_path / "m.onnx")
    assert _left_over(tmp_path) == []


def test_external_data_pair_moves_together_with_relative_paths(tmp_path, tiny_vgg16):
    (tmp_path / "a").mkdir()
    report = export_onnx(tiny_vgg16, tmp_path / "a" / "m.onnx", external_data_threshold=0)
    assert [p.name for p in report.files] == ["m.onnx", "m.onnx.data"]
    assert _left_over(tmp_path / "a") == ["m.onnx", "m.onnx.data"]
    moved = shutil.move(tmp_path / "a", tmp_path / "b")
    x = torch.randn(1, 3, 256, 288)
    with OrtRunner(moved / "m.onnx", "cpu") as runner, torch.inference_mode():
        assert (runner.logits(x) - tiny_vgg16(x)).abs().max() <= 1e-4
    # Re-exported below the threshold: one file, and the stale .data is gone.
    export_onnx(tiny_vgg16, moved / "m.onnx")
    assert _left_over(moved) == ["m.onnx"]


@pytest.mark.parametrize("damage", ["garbage", "truncated", "missing data"])
def test_corrupt_onnx_file_is_a_clear_error(tmp_path, tiny_onnx, tiny_vgg16, damage):
    path = tmp_path / "bad.onnx"
    if damage == "garbage":
        path.write_bytes(b"\x00not an onnx model" * 10)
    elif damage == "truncated":
        path.write_bytes(tiny_onnx.read_bytes()[:100_000])
    else:
        export_onnx(tiny_vgg16, path, external_data_threshold=0)
        (tmp_path / "bad.onnx.data").unlink()
    with pytest.raises(ArtifactError, match=r"cannot load ONNX file .*bad.onnx.*export it again"):
        OrtRunner(path, "cpu")


def test_missing_file_and_foreign_onnx_are_clear_errors(tmp_path):
    with pytest.raises(ArtifactError, match="does not exist"):
        OrtRunner(tmp_path / "nope.onnx")
    from onnx import TensorProto, helper

    info = helper.make_tensor_value_info
    graph = helper.make_graph([helper.make_node("Identity", ["input"], ["logits"])], "g",
                              [info("input", TensorProto.FLOAT, [1, 3, 224, 224])],
                              [info("logits", TensorProto.FLOAT, [1, 3, 224, 224])])
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)], ir_version=9),
              str(tmp_path / "c.onnx"))
    with pytest.raises(ArtifactError, match="not a vggzoo export"):
        OrtRunner(tmp_path / "c.onnx", "cpu")


def test_input_below_224_is_refused_with_the_fix(tiny_onnx):
    with OrtRunner(tiny_onnx, "cpu") as runner:
        with pytest.raises(InputSizeError, match=r"200x300 .* at least 224x224.*shortest side"):
            runner.logits(torch.zeros(1, 3, 200, 300))


def test_a_fixed_batch_export_takes_batches_of_any_size(tmp_path):
    """A file exported for batch 2 runs the batches protocols make (an odd
    count, one image): split into pieces of 2, the last one padded."""
    torch.manual_seed(0)
    model = vggzoo.create("vgg11", width_mult=TINY_WIDTH, fully_conv=True).eval()
    report = export_onnx(model, tmp_path / "b2.onnx", batch=2)
    with OrtRunner(report.path, "cpu") as runner:
        for count in (1, 2, 5):
            x = torch.randn(count, 3, 224, 256)
            with torch.no_grad():
                expected = model(x)
            assert (runner.logits(x) - expected).abs().max() <= 1e-4 * max(1, expected.abs().max())


def test_onnxruntime_backend_through_create_runner(tiny_onnx, tiny_vgg16):
    runner = create_runner("onnxruntime", onnx=tiny_onnx, device="cpu")
    assert runner.name == "onnxruntime" and runner.providers == ["CPUExecutionProvider"]
    x = torch.randn(1, 3, 224, 256)
    with torch.inference_mode():
        torch.testing.assert_close(runner.posteriors(x), tiny_vgg16(x).softmax(1), atol=1e-6, rtol=0)
    with pytest.raises(vggzoo.VggzooError, match="--onnx FILE"):
        create_runner("onnxruntime")
    # The file is the network: options of other backends are refused, not dropped.
    with pytest.raises(vggzoo.VggzooError, match="does not take that option: 'batch_size'"):
        create_runner("onnxruntime", onnx=tiny_onnx, batch_size=4)


def test_auto_providers_fall_back_to_cpu_without_a_gpu(tiny_onnx):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with OrtRunner(tiny_onnx) as runner:
        assert runner.providers == ["CPUExecutionProvider"] and not runner.on_gpu


def test_dynamo_exporter_gives_the_same_graph(tmp_path, tiny_vgg16):
    pytest.importorskip("onnxscript")
    report = export_onnx(tiny_vgg16, tmp_path / "d.onnx", exporter="dynamo")
    ops = [n.op_type for n in onnx.load(str(report.path)).graph.node]
    assert ops.count("Conv") == 16 and ops.count("MaxPool") == 5
    assert report.metadata.config["exporter"] == "dynamo"


def test_fp16_export_keeps_fp32_io_and_stays_close(tmp_path, tiny_vgg16):
    report = export_onnx(tiny_vgg16, tmp_path / "h.onnx", fp16=True)
    model = onnx.load(str(report.path))
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert any(i.data_type == onnx.TensorProto.FLOAT16 for i in model.graph.initializer)
    assert report.metadata.config["precision"] == "fp16"
    x = torch.randn(1, 3, 256, 320)
    with OrtRunner(report.path, "cpu") as runner, torch.inference_mode():
        expected = tiny_vgg16(x)
        assert (runner.logits(x) - expected).abs().max() <= 2e-2 * max(1.0, expected.abs().max())
