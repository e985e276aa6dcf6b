"""Fine-tuning in one command, and a trained run whose weights carry their
facts: scikit-learn's digits, a 1000-class checkpoint in torchvision's
format registered as named weights, then the run used by ``create``,
``vggzoo-export``, ``predict`` and ``--init-from`` with no option repeated."""

import importlib.util
import json
import types
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import load_file

import vggzoo
from vggzoo.cli import main
from vggzoo.errors import WeightsError
from vggzoo.data.preprocess import TORCHVISION
from vggzoo.plugins.registry import INITIALIZERS
from vggzoo.plugins.testing import TINY_WIDTH, hub_cached_weights, plugin_registered

REPO = Path(__file__).resolve().parents[1]
DIGITS = [str(d) for d in range(10)]
#: Chance is 10%; one epoch of fine-tuning gets far above it.
MIN_TOP1_ACCURACY = 0.5
COMMON = ["--scale", "224", "--batch-size", "16", "--workers", "0", "--no-progress",
          "--device", "cpu", "--augment", "scale", "random-crop"]


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    spec = importlib.util.spec_from_file_location("make_digits", REPO / "examples" / "make_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_digits(tmp_path_factory.mktemp("data") / "digits")


@pytest.fixture(scope="module")
def hub(tmp_path_factory):
    """A torch hub cache holding a 1000-class vgg11_bn checkpoint in
    torchvision's format (random glorot values, small width), and a plugin
    that registers it as named weights by its SHA-256."""
    torch.manual_seed(3)
    source = vggzoo.create("vgg11_bn", width_mult=TINY_WIDTH)
    INITIALIZERS.get("glorot").obj(source)
    home = tmp_path_factory.mktemp("torch_home")
    spec = hub_cached_weights(source, home, "vgg11_bn_test-in1k.pth", preprocessing=TORCHVISION,
                              num_classes=1000, width_mult=TINY_WIDTH, train_scale="256",
                              source="test checkpoint")

    @vggzoo.hookimpl
    def vggzoo_register_weights(register):
        register("vgg11_bn.test_in1k", spec)

    return home, source, types.SimpleNamespace(vggzoo_register_weights=vggzoo_register_weights)


@pytest.fixture(scope="module")
def run(digits, hub, tmp_path_factory):
    """`vggzoo train --init-from vgg11_bn.test_in1k --data digits --out R`:
    no --model, --width-mult or --num-classes."""
    home, source, plugin = hub
    out = tmp_path_factory.mktemp("runs") / "digits"
    with pytest.MonkeyPatch.context() as mp, plugin_registered(plugin):
        mp.setenv("TORCH_HOME", str(home))
        assert main(["train", "--init-from", "vgg11_bn.test_in1k", "--data", str(digits),
                     "--out", str(out), "--epochs", "1", "--lr", "0.01", "--head-lr", "0.02",
                     *COMMON]) == 0
    return out, source


def test_fine_tuning_from_a_1000_class_checkpoint_learns_the_digits(run):
    out, source = run
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert 100 - rows[-1]["val_top1_err"] >= 100 * MIN_TOP1_ACCURACY
    config = json.loads((out / "config.json").read_text())
    assert config["model"] == "vgg11_bn" and config["width_mult"] == TINY_WIDTH
    assert config["init"] == "from-checkpoint"
    with safe_open(str(out / "model.safetensors"), "pt") as handle:
        meta = handle.metadata()
    assert json.loads(meta["classes"]) == DIGITS and meta["num_classes"] == "10"
    # The checkpoint's torchvision preprocessing was kept, not the data's mean RGB.
    assert json.loads(meta["preprocessing"])["name"] == "torchvision"
    tuned = load_file(str(out / "model.safetensors"))
    assert tuned["classifier.6.weight"].shape == (10, source.classifier[3].out_features)


def test_run_directory_is_all_create_needs(run):
    out, _ = run
    model = vggzoo.create("vgg11_bn", weights=out)
    cfg = model.pretrained_cfg
    assert (cfg["num_classes"], cfg["width_mult"], cfg["classes"]) == (10, TINY_WIDTH, tuple(DIGITS))
    assert cfg["preprocessing"] == TORCHVISION and cfg["train_scale"] == "224"
    with pytest.raises(WeightsError, match="num_classes=10 but num_classes=5"):
        vggzoo.create("vgg11_bn", weights=out, num_classes=5)
    with pytest.raises(WeightsError, match="width_mult=0.0625 but width_mult=0.25"):
        vggzoo.create("vgg11_bn", weights=out / "model.safetensors", width_mult=0.25)
    with pytest.raises(WeightsError, match="model=vgg11_bn but model=vgg13"):
        vggzoo.create("vgg13", weights=out)


def test_export_and_predict_name_the_digits_without_repeated_options(run, digits, tmp_path,
                                                                     capsys):
    from vggzoo_export.cli.main import main as export_main
    from vggzoo_export.core.metadata import read_onnx_metadata
    from vggzoo_export.plugin import ensure_registered

    ensure_registered()
    out, _ = run
    onnx_path = tmp_path / "digits.onnx"
    assert export_main(["--weights", str(out), "-o", str(onnx_path),
                        "--triton", str(tmp_path / "repo")]) == 0
    meta = read_onnx_metadata(onnx_path)
    assert meta.model == "vgg11_bn" and meta.classes == DIGITS
    assert meta.preprocessing == TORCHVISION
    labels = (tmp_path / "repo" / "vgg11_bn" / "labels.txt").read_text().splitlines()
    assert labels == DIGITS
    assert 'label_filename: "labels.txt"' in (tmp_path / "repo" / "vgg11_bn" /
                                             "config.pbtxt").read_text()
    images = sorted((digits / "val").rglob("*.png"))[::40]
    results = {}
    for flag, source in (("--weights", out), ("--onnx", onnx_path)):
        target = tmp_path / f"{flag[2:]}.json"
        assert main(["predict", *map(str, images), flag, str(source), "--json", str(target),
                     "--no-progress", "--topk", "3"]) == 0
        results[flag] = json.loads(target.read_text())
    torch_run, onnx_run = results["--weights"], results["--onnx"]
    assert torch_run["class_names"] == "weights" and torch_run["scales"] == [224]
    correct = 0
    for a, b, image in zip(torch_run["predictions"], onnx_run["predictions"], images):
        assert [s["name"] for s in a["top"]] == [s["name"] for s in b["top"]]
        assert [s["probability"] for s in a["top"]] == pytest.approx(
            [s["probability"] for s in b["top"]], abs=1e-5)
        assert all(s["name"] in DIGITS for s in a["top"])
        correct += a["top"][0]["name"] == image.parent.name
    assert correct / len(images) >= MIN_TOP1_ACCURACY


def test_demo_reads_the_run(run, capsys):
    out, _ = run
    assert main(["demo", "--weights", str(out), "--scale", "256"]) == 0
    printed = capsys.readouterr().out
    assert "vgg11_bn" in printed and "score map shape: (1, 10," in printed


def test_init_from_a_run_directory_with_the_trunk_frozen(run, digits, tmp_path):
    out, _ = run
    second = tmp_path / "second"
    assert main(["train", "--init-from", str(out), "--data", str(digits), "--out", str(second),
                 "--freeze", "features", "--head-lr", "0.05", "--epochs", "1",
                 "--max-steps", "3", *COMMON]) == 0
    before, after = load_file(str(out / "model.safetensors")), load_file(
        str(second / "model.safetensors"))
    trunk = [k for k in before if k.startswith("features.")]
    assert trunk and all(torch.equal(before[k], after[k]) for k in trunk)  # BN stats included
    assert not torch.equal(before["classifier.6.weight"], after["classifier.6.weight"])


def test_init_from_weights_of_another_architecture_names_both(run, digits, tmp_path, capsys):
    out, _ = run
    assert main(["train", "--init-from", str(out), "--model", "vgg13", "--data", str(digits),
                 "--out", str(tmp_path / "x"), *COMMON]) == 2
    assert "model=vgg11_bn but model=vgg13" in capsys.readouterr().err


def test_init_from_named_weights_resolves_the_run_config():
    from vggzoo.training import resolve_config

    config = resolve_config(data="d", out="o", init_from="vgg13_bn.tv_in1k")
    assert (config.init, config.model, config.width_mult) == ("from-checkpoint", "vgg13_bn", 1.0)
    config = resolve_config(model="vgg16", data="d", out="o", init_from="torchvision")
    assert config.init_from == "vgg16.tv_in1k" and config.init == "from-checkpoint"
    with pytest.raises(WeightsError, match="model=vgg13 but model=vgg16"):
        resolve_config(model="vgg16", data="d", out="o", init_from="vgg13.tv_in1k")
