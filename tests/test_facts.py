"""Issue 21: one facts record (PretrainedCfg) for what a model is, one
resolver for ``weights=``, one test-scale rule; each bug the copies caused
is checked where a user meets it (the API or the CLI, with real files)."""

import json

import pytest
import torch

import vggzoo
from vggzoo.cli import main
from vggzoo.eval.evaluate import evaluate
from vggzoo.models.complexity import count_macs
from vggzoo.plugins.testing import TINY_WIDTH, write_image_folder
from vggzoo.runtime import TorchRunner

LRN_ERROR = "torchvision has no weights for 'vgg11_lrn'; it has them for vgg11, vgg11_bn"


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return write_image_folder(tmp_path_factory.mktemp("data") / "d")


def _cli_error(capsys, argv):
    assert main(argv) == 2
    return capsys.readouterr().err


def test_weights_torchvision_for_a_model_without_them_is_one_error_everywhere(
        folder, tmp_path, capsys):
    """Before: a clear error from create(), "weights file ... does not exist"
    from evaluation and prediction, silent acceptance from training."""
    with pytest.raises(vggzoo.WeightsError) as caught:
        vggzoo.create("vgg11_lrn", weights="torchvision")
    assert LRN_ERROR in str(caught.value)
    with pytest.raises(vggzoo.WeightsError) as caught:
        evaluate("vgg11_lrn", "torchvision", folder / "val")
    assert LRN_ERROR in str(caught.value)
    for argv in (["predict", str(folder / "val"), "--model", "vgg11_lrn", "--weights",
                  "torchvision", "--no-progress"],
                 ["eval", "--model", "vgg11_lrn", "--weights", "torchvision", "--data",
                  str(folder / "val"), "--no-progress"],
                 ["train", "--model", "vgg11_lrn", "--init-from", "torchvision", "--data",
                  str(folder), "--out", str(tmp_path / "run"), "--epochs", "1"]):
        err = _cli_error(capsys, argv)
        assert LRN_ERROR in err and "does not exist" not in err, argv
    assert not (tmp_path / "run").exists()


def test_a_mistyped_weights_name_is_one_error_with_the_close_name(capsys):
    with pytest.raises(vggzoo.WeightsError, match=r"does not exist and is no named weights "
                                                  r"\(did you mean vgg16.tv_in1k\?\)"):
        vggzoo.create("vgg16", weights="vgg16.tv_in1")
    err = _cli_error(capsys, ["predict", "x.png", "--weights", "vgg16.tv_in1", "--no-progress"])
    assert "did you mean vgg16.tv_in1k" in err


def test_old_weights_files_are_read_with_every_fact_they_hold(tmp_path):
    """A file written by the previous version (its metadata, key for key)."""
    torch.manual_seed(0)
    model = vggzoo.create("vgg11", in_chans=1, num_classes=3, width_mult=TINY_WIDTH)
    pre = {"name": "gray", "mean": [0.5, 0.5, 0.5], "std": [0.25, 0.25, 0.25]}
    path = vggzoo.save_weights(model, tmp_path / "old.safetensors", metadata={
        "model": "vgg11", "width_mult": "0.0625", "num_classes": "3", "in_chans": "1",
        "train_scale": "256:512", "dropout": "0.3", "fully_conv": "True",
        "classes": json.dumps(["a", "b", "c"]), "preprocessing": json.dumps(pre)})
    cfg = vggzoo.create("vgg11", weights=path).pretrained_cfg
    assert (cfg.in_chans, cfg.num_classes, cfg.width_mult, cfg.dropout) == (1, 3, 0.0625, 0.3)
    assert cfg.fully_conv and cfg.classes == ("a", "b", "c") and cfg.train_scale == "256:512"
    assert cfg.preprocessing.name == "gray" and cfg.preprocessing.std == (0.25, 0.25, 0.25)


def test_flops_are_counted_on_the_runners_own_model(wide_first, folder):
    """Before: counted on a default build of the name (first=64)."""
    torch.manual_seed(0)
    model = vggzoo.create(wide_first, first=512, num_classes=2, width_mult=TINY_WIDTH).eval()
    runner = TorchRunner(model)
    result = evaluate(data=folder / "val", runner=runner, protocol="single", scales=[224])
    # one 224x224 centre crop per image; the model itself, counted by torch's FlopCounterMode
    assert result.macs_per_image == count_macs(runner.model, (3, 224, 224))


def _checkpoint(path, train_scale):
    torch.manual_seed(0)
    model = vggzoo.create("vgg11", num_classes=2, width_mult=TINY_WIDTH)
    model.pretrained_cfg = model.pretrained_cfg.__class__(
        **{**{k: model.pretrained_cfg[k] for k in model.pretrained_cfg if k != "input_size"},
           "train_scale": train_scale})
    return vggzoo.save_weights(model, path)


def test_predict_and_eval_choose_test_scales_by_one_rule(folder, tmp_path, capsys):
    """Weights trained at S=224 with --multi-scale: evaluation ran Q=224,256
    and prediction failed on Q=192."""
    weights = _checkpoint(tmp_path / "s224.safetensors", "224")
    assert main(["eval", "--weights", str(weights), "--data", str(folder / "val"),
                 "--multi-scale", "--no-progress", "--json", str(tmp_path / "e.json")]) == 0
    assert main(["predict", str(folder / "val"), "--weights", str(weights), "--multi-scale",
                 "--no-progress", "--json", str(tmp_path / "p.json")]) == 0
    capsys.readouterr()
    evaluated = json.loads((tmp_path / "e.json").read_text())["results"][0]["scales"]
    predicted = json.loads((tmp_path / "p.json").read_text())["scales"]
    assert evaluated == [predicted] == [[224, 256]]
