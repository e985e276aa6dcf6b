"""Calibrated int8 export on real data: the README's digits run (a narrow
VGG-A trained on scikit-learn's handwritten digits), quantized through the
CLI, agrees with fp32 on held-out digits, evaluates through OrtRunner, and
is refused (nothing written) when it cannot meet --min-agreement."""

import json
from pathlib import Path

import onnx
import pytest
import torch

import vggzoo
import vggzoo.runtime.machine
from vggzoo.cli import main as vggzoo_main
from vggzoo_export.cli.main import main
from vggzoo_export.onnx.int8 import split_images
from vggzoo_export.core.parity import compare_logits

#: The issue's target on the held-out digits.
MIN_TOP1_AGREEMENT = 0.99


@pytest.fixture(scope="module")
def trained_digits(digits_run):
    """(digits ImageFolder, the README's trained vgg11_bn weights): conftest.py's
    session-wide ``digits_run``, trained once for this and the end-to-end test."""
    data, result = digits_run
    assert 100 - result.best_top1_err >= 90  # the README's model, not an untrained one
    return data, Path(result.weights)


def _export_args(weights, out, data, *extra):
    return ["vgg11_bn", "--weights", str(weights), "--num-classes", "10", "--width-mult",
            "0.0625", "--int8", "--calibrate", str(data / "val"), "--calibration-images", "32",
            "--agreement-images", "332", "-o", str(out), *extra]


@pytest.mark.slow
def test_int8_digits_agree_with_fp32_and_evaluate_through_ort(trained_digits, tmp_path, capsys):
    data, weights = trained_digits
    out = tmp_path / "digits.int8.onnx"
    assert main(_export_args(weights, out, data)) == 0
    printed = capsys.readouterr().out
    assert "top-1 agreement" in printed

    props = {p.key: p.value for p in onnx.load(str(out)).metadata_props}
    config = json.loads(props["vggzoo.config"])
    calibration = json.loads(props["vggzoo.calibration"])
    agreement = json.loads(props["vggzoo.agreement"])
    assert config["precision"] == "int8" and config["batch"] == "dynamic"
    assert calibration["images"] == 32 and len(calibration["sha256"]) == 64
    assert calibration["scales"] == [224]  # the weights record S = 224
    assert agreement["images"] == 332 and agreement["top1_agreement"] >= MIN_TOP1_AGREEMENT
    graph = onnx.load(str(out)).graph
    assert sum(n.op_type == "QuantizeLinear" for n in graph.node) >= 8
    dims = [d.dim_param or d.dim_value for d in graph.input[0].type.tensor_type.shape.dim]
    assert dims == ["batch", 3, "height", "width"]

    # Independently of the exporter's own report: PyTorch fp32 against the
    # int8 file on held-out digits (none of the calibration images), batch 4.
    from vggzoo.eval.data import read_image
    from vggzoo.data.preprocess import to_input
    from vggzoo_export.onnx.runner import OrtRunner

    split = split_images(data / "val", 32, 332)
    assert not set(split.calibration) & set(split.held_out)
    model = vggzoo.create("vgg11_bn", fully_conv=True, num_classes=10, width_mult=1 / 16,
                          weights=weights).eval()
    transform = to_input(model.pretrained_cfg["preprocessing"], scale=224)
    images = torch.stack([transform(read_image(p)) for p in split.held_out])
    with OrtRunner(out, "cpu") as runner, torch.inference_mode():
        assert runner.metadata.extra["calibration"] == props["vggzoo.calibration"]
        ours = torch.cat([runner.logits(b) for b in images.split(4)])
        ref = torch.cat([model(b) for b in images.split(4)])
    report = compare_logits(ref.numpy(), ours.numpy())
    assert report.top1_agreement >= MIN_TOP1_AGREEMENT, report.summary()
    # and at a size it was not calibrated at (dynamic height and width kept)
    with OrtRunner(out, "cpu") as runner:
        assert runner.score_map(torch.zeros(2, 3, 256, 288)).shape == (2, 10, 2, 3)

    # vggzoo eval runs the int8 file through the onnxruntime backend and
    # gets (almost) the accuracy of the fp32 weights on the same digits.
    def top1_error(*args):
        assert vggzoo_main(["eval", "--data", str(data), "--scales", "224", "--no-flip",
                            "--no-progress", "--json", str(tmp_path / "r.json"), *args]) == 0
        return json.loads((tmp_path / "r.json").read_text())["results"][0]["top1_err"]

    int8_err = top1_error("--backend", "onnxruntime", "--onnx", str(out), "--providers", "cpu")
    fp32_err = top1_error("--weights", str(weights))
    assert int8_err <= 10.0 and abs(int8_err - fp32_err) <= 1.0  # percent


@pytest.mark.slow
def test_too_high_min_agreement_writes_nothing(trained_digits, tmp_path, capsys):
    data, weights = trained_digits
    first = tmp_path / "first" / "digits.int8.onnx"
    first.parent.mkdir()
    assert main(_export_args(weights, first, data)) == 0
    measured = json.loads({p.key: p.value for p in onnx.load(str(first)).metadata_props}
                          ["vggzoo.agreement"])
    if measured["top1_agreement"] == 1.0:
        pytest.skip("every held-out digit kept its class: no agreement threshold is too high")
    # Ask for half a digit more agreement than the same export reaches.
    too_high = measured["top1_agreement"] + 0.5 / measured["images"]
    out = tmp_path / "second" / "digits.int8.onnx"
    out.parent.mkdir()
    capsys.readouterr()
    assert main(_export_args(weights, out, data, "--min-agreement", str(too_high))) == 2
    err = capsys.readouterr().err
    assert f"int8 top-1 agreement with fp32 is {measured['top1_agreement']:.1%}" in err
    assert "nothing was written" in err and "Traceback" not in err and err.count("\n") == 1
    assert list(out.parent.iterdir()) == []


def test_int8_needs_weights_and_a_folder(tmp_path, capsys):
    assert main(["vgg11", "--width-mult", "0.0625", "--int8", "-o", str(tmp_path / "a.onnx")]) == 2
    assert "needs both --int8 and --calibrate" in capsys.readouterr().err
    assert main(["vgg11", "--width-mult", "0.0625", "--int8", "--calibrate", str(tmp_path),
                 "-o", str(tmp_path / "a.onnx")]) == 2
    assert "pass --weights" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


def test_split_is_disjoint_spread_and_refuses_too_few_images(tmp_path):
    from PIL import Image

    for i in range(10):
        (tmp_path / f"c{i % 2}").mkdir(exist_ok=True)
        Image.new("RGB", (8, 8), (i, i, i)).save(tmp_path / f"c{i % 2}" / f"{i}.png")
    split = split_images(tmp_path, 3, 100)
    assert len(split.calibration) == 3 and len(split.held_out) == 7
    assert not set(split.calibration) & set(split.held_out)
    assert {p.parent.name for p in split.calibration} == {"c0", "c1"}
    from vggzoo.errors import VggzooError

    with pytest.raises(VggzooError, match="holds 10 images but calibrating on 7"):
        split_images(tmp_path, 7, 100)


@pytest.mark.slow
@pytest.mark.skipif(not vggzoo.runtime.machine.has_native_bf16(),
                    reason="this CPU has no avx512_bf16/amx_bf16 (bf16 is refused there)")
def test_bf16_paths_agree_with_fp32_on_held_out_digits(trained_digits, tmp_path):
    """The bf16 paths (torch autocast with channels_last; OpenVINO's bf16
    inference precision) checked as int8 is: top-1 agreement with fp32 on
    the held-out digits."""
    from vggzoo.runtime import TorchRunner, create_runner
    from vggzoo_export.onnx.int8 import image_batches
    from vggzoo_export.onnx.export import export_onnx

    data, weights = trained_digits
    model = vggzoo.create("vgg11_bn", fully_conv=True, num_classes=10, width_mult=1 / 16,
                          weights=weights).eval()
    held_out = split_images(data / "val", 32, 332).held_out
    batches = [torch.from_numpy(b) for b in
               image_batches(held_out, model.pretrained_cfg["preprocessing"], [224], batch_size=8)]
    fp32 = TorchRunner(model, plain_eager=True)
    reference = torch.cat([fp32.logits(b) for b in batches]).numpy()
    candidates = {"torch bf16": TorchRunner(model, precision="bf16")}
    from vggzoo.plugins.registry import RUNNERS

    if "openvino" in RUNNERS.names():  # plugins/vggzoo-openvino installed (make does)
        path = export_onnx(model, tmp_path / "digits.onnx").path
        candidates["openvino bf16"] = create_runner("openvino", onnx=path, precision="bf16")
    for name, runner in candidates.items():
        got = torch.cat([runner.logits(b) for b in batches]).numpy()
        report = compare_logits(reference, got)
        assert report.max_abs_diff > 0, f"{name} did not run in bf16"
        assert report.top1_agreement >= MIN_TOP1_AGREEMENT, f"{name}: {report.summary()}"
