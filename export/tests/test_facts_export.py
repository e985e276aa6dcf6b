"""Issue 21: the model's facts record survives every hop (weights file ->
create -> ``vggzoo-export`` -> ONNX file -> runner -> Triton repository),
a 1-channel model exports, and int8 calibration uses the recorded scale."""

import dataclasses
import types

import pytest
import torch

import vggzoo
from vggzoo.eval.cost import runner_macs_counter
from vggzoo.eval.network import network_of
from vggzoo.models.complexity import count_macs
from vggzoo.plugins.testing import (TINY_WIDTH, hub_cached_weights, plugin_registered,
                                    write_image_folder)
from vggzoo.runtime import open_file
from vggzoo_export.cli.main import main

GRAY = vggzoo.Preprocessing("gray", (0.5, 0.5, 0.5), (0.25, 0.25, 0.25))


def test_every_fact_survives_weights_export_runner_and_triton(wide_first, tmp_path, capsys):
    """A 1-channel plugin model with its own builder keyword, class names,
    preprocessing and a jittered training scale: exporting it failed (3
    channels assumed), and an export kept only name, width and classes."""
    from vggzoo_export.triton.repository import read_repository_facts, write_repository

    torch.manual_seed(0)
    model = vggzoo.create(wide_first, first=128, in_chans=1, num_classes=3,
                          width_mult=TINY_WIDTH, dropout=0.2).eval()
    model.pretrained_cfg = dataclasses.replace(
        model.pretrained_cfg, classes=("cat", "dog", "owl"), preprocessing=GRAY,
        train_scale="256:512")
    weights = vggzoo.save_weights(model, tmp_path / "gray.safetensors")
    out = tmp_path / "gray.onnx"
    assert main([wide_first, "--weights", str(weights), "-o", str(out)]) == 0, \
        capsys.readouterr().err
    expected = dataclasses.replace(model.pretrained_cfg, fully_conv=True, weights=str(weights))
    with open_file(out, device="cpu") as runner:
        assert runner.facts == expected
        assert (runner.in_chans, runner.classes, runner.train_scale) == (1, ["cat", "dog", "owl"],
                                                                          "256:512")
        x = torch.randn(3, 1, 256, 288)
        with torch.no_grad():
            reference = vggzoo.to_fully_conv(model).eval()(x)
        assert (runner.logits(x) - reference).abs().max() <= 1e-4 * max(1, reference.abs().max())
        # FLOPs of the runner: its own network (1 channel, first=128), not a default build
        assert runner_macs_counter(runner)(256, 288) == count_macs(
            vggzoo.to_fully_conv(model), (1, 256, 288))
        assert network_of(runner).train_scale.spec == "256:512"
    config = write_repository(tmp_path / "repo", out, max_batch=4)
    assert read_repository_facts(config.parent) == expected


def test_a_one_channel_model_exports_through_the_api(tmp_path):
    from vggzoo_export.onnx.export import export_onnx

    torch.manual_seed(0)
    model = vggzoo.create("vgg11", in_chans=1, width_mult=TINY_WIDTH)
    report = export_onnx(model, tmp_path / "g.onnx")
    assert report.metadata.facts.in_chans == 1 and all(d <= 1e-4 for d in report.parity.values())
    with open_file(report.path, device="cpu") as runner:
        with pytest.raises(vggzoo.InputSizeError, match=r"expected a \(N, 1, H, W\) batch"):
            runner.logits(torch.zeros(1, 3, 224, 224))


def test_int8_calibrates_named_weights_at_their_recorded_training_scale(
        monkeypatch, tmp_path, vggzoo_plugins):
    """Named weights trained at S=256 were calibrated at 224: the scale was
    looked for in a weights file's metadata, and named weights are none."""
    from vggzoo_export.onnx.int8 import export_int8

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    torch.manual_seed(0)
    source = vggzoo.create("vgg11", num_classes=2, width_mult=TINY_WIDTH)
    spec = hub_cached_weights(source, tmp_path, "tiny-s256.pth", preprocessing=vggzoo.PAPER,
                              num_classes=2, width_mult=TINY_WIDTH, train_scale="256")

    @vggzoo.hookimpl
    def vggzoo_register_weights(register):
        register("vgg11.tiny_s256", spec)

    images = write_image_folder(tmp_path / "images", train_per_class=4, val_per_class=0)
    with plugin_registered(types.SimpleNamespace(vggzoo_register_weights=vggzoo_register_weights)):
        model = vggzoo.create("vgg11.tiny_s256", pretrained=True)
        report = export_int8(model, tmp_path / "m.int8.onnx", calibrate=images,
                             calibration_images=2, agreement_images=4, min_agreement=0.0)
    assert report.calibration["scales"] == [256]
    assert report.metadata.facts.train_scale == "256"
