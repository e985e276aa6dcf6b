"""Initializers: the paper's N(0, 1e-2), Glorot, He, from-a and from-checkpoint."""

import math

import pytest
import torch
from torch import nn

import vggzoo
from vggzoo.errors import ConfigError, WeightsError
from vggzoo.plugins.registry import INITIALIZERS
from vggzoo.plugins.testing import TINY_WIDTH
from vggzoo.training.initializers import conv_names


def _init(name, model, **options):
    INITIALIZERS.get(name).obj(model, **options)
    return model


def _layers(model, kind):
    return [m for m in model.modules() if isinstance(m, kind)]


def test_all_initializers_are_registered_through_the_hook():
    assert {"kaiming-input", "paper", "glorot", "kaiming", "from-a",
            "from-checkpoint"} <= set(INITIALIZERS.names())


def test_paper_init_defaults_to_the_caffe_reading_std_001_with_zero_biases():
    model = _init("paper", vggzoo.create("vgg11", num_classes=10, width_mult=0.25))
    weights = torch.cat([m.weight.flatten() for m in _layers(model, (nn.Conv2d, nn.Linear))])
    assert weights.mean().abs() < 1e-4
    assert weights.var().item() == pytest.approx(1e-4, rel=0.02)  # std 0.01
    assert all(torch.all(m.bias == 0) for m in _layers(model, (nn.Conv2d, nn.Linear)))


def test_paper_init_literal_variance_1e2_is_reachable():
    model = _init("paper", vggzoo.create("vgg11", num_classes=10, width_mult=0.25), std=0.1)
    weights = torch.cat([m.weight.flatten() for m in _layers(model, (nn.Conv2d, nn.Linear))])
    assert weights.var().item() == pytest.approx(1e-2, rel=0.02)  # std 0.1


def test_kaiming_input_gives_unit_scale_features_on_0_255_inputs():
    """The default initializer: He init with the input's RMS divided out
    evenly, so mean-subtracted 0-255 pixels give unit-scale features, and a
    zero last layer (the paper's literal std 0.1 gives logits in the
    hundreds, which is what diverged)."""
    torch.manual_seed(0)
    batch = torch.rand(8, 3, 224, 224) * 255 - 120  # mean-subtracted 0-255 pixels
    model = _init("kaiming-input", vggzoo.create("vgg11", num_classes=10, width_mult=0.125),
                  batch=batch).eval()
    layers = _layers(model, (nn.Conv2d, nn.Linear))
    rms = batch.pow(2).mean().sqrt().item()
    fc7 = model.classifier[3].weight
    # He's std sqrt(2 / fan_in), times rms^(-1/L) on every layer.
    assert fc7.std().item() == pytest.approx(math.sqrt(2 / fc7.shape[1]) * rms ** (-1 / len(layers)),
                                             rel=0.05)
    with torch.no_grad():
        logits = model(batch)
        features = model.classifier[:5](torch.flatten(model.features(batch), 1))  # fc7 + ReLU
    assert torch.equal(logits, torch.zeros_like(logits))  # uniform posteriors at the start
    assert torch.all(model.classifier[6].weight == 0)
    assert torch.isfinite(features).all() and 0.1 < features.pow(2).mean().sqrt().item() < 20
    literal = _init("paper", vggzoo.create("vgg11", num_classes=10, width_mult=0.125), std=0.1)
    with torch.no_grad():
        assert literal.eval()(batch).abs().max() > 100
    assert INITIALIZERS.get("kaiming-input").info["needs_batch"] is True
    assert vggzoo.training.resolve_config(model="vgg11", data="d", out="r").init == "kaiming-input"


def test_glorot_and_kaiming_scale_with_fan_in():
    model = vggzoo.create("vgg11", num_classes=10, width_mult=0.25)
    fc6 = model.classifier[0]
    fan_out, fan_in = fc6.weight.shape
    _init("glorot", model)
    assert fc6.weight.var().item() == pytest.approx(2 / (fan_in + fan_out), rel=0.03)
    assert fc6.weight.abs().max() <= math.sqrt(6 / (fan_in + fan_out))
    _init("kaiming", model)
    assert fc6.weight.var().item() == pytest.approx(2 / fan_in, rel=0.03)
    assert torch.all(fc6.bias == 0)


def test_paper_layer_names_follow_stage_and_position():
    model = vggzoo.create("vgg16", width_mult=TINY_WIDTH)
    names = conv_names(model.features)
    assert list(names)[:5] == ["conv1_1", "conv1_2", "conv2_1", "conv2_2", "conv3_1"]
    assert names["conv5_3"] == "features.28"


def test_from_a_copies_the_first_four_convs_and_the_fc_layers(tmp_path):
    a = _init("glorot", vggzoo.create("vgg11", num_classes=10, width_mult=TINY_WIDTH))
    vggzoo.save_weights(a, tmp_path / "a.safetensors")
    d = _init("from-a", vggzoo.create("vgg16", num_classes=10, width_mult=TINY_WIDTH),
              checkpoint=tmp_path / "a.safetensors")
    a_names, d_names = conv_names(a.features), conv_names(d.features)
    a_state, d_state = a.state_dict(), d.state_dict()
    for layer in ("conv1_1", "conv2_1", "conv3_1", "conv3_2"):
        for kind in ("weight", "bias"):
            assert torch.equal(d_state[f"{d_names[layer]}.{kind}"], a_state[f"{a_names[layer]}.{kind}"])
    for index in (0, 3, 6):
        assert torch.equal(d.classifier[index].weight, a.classifier[index].weight)
    # The layers A does not have keep the paper's random init.
    for layer in ("conv1_2", "conv2_2", "conv3_3", "conv5_3"):
        weight = d_state[f"{d_names[layer]}.weight"]
        assert not any(weight.shape == a_state[f"{p}.weight"].shape
                       and torch.equal(weight, a_state[f"{p}.weight"]) for p in a_names.values())
    assert d_state[f"{d_names['conv4_3']}.weight"].std().item() == pytest.approx(0.1, rel=0.1)


def test_from_a_rejects_another_width(tmp_path):
    a = vggzoo.create("vgg11", num_classes=10, width_mult=TINY_WIDTH * 2)
    vggzoo.save_weights(a, tmp_path / "a.safetensors")
    with pytest.raises(WeightsError, match="same width_mult"):
        _init("from-a", vggzoo.create("vgg13", num_classes=10, width_mult=TINY_WIDTH),
              checkpoint=tmp_path / "a.safetensors")


def test_from_a_needs_a_checkpoint():
    with pytest.raises(ConfigError, match="--init-from"):
        _init("from-a", vggzoo.create("vgg13", width_mult=TINY_WIDTH))


def test_from_checkpoint_copies_every_layer_from_a_run_directory(tmp_path):
    source = _init("kaiming", vggzoo.create("vgg13", num_classes=3, width_mult=TINY_WIDTH))
    vggzoo.save_weights(source, tmp_path / "model.safetensors")
    target = _init("from-checkpoint", vggzoo.create("vgg13", num_classes=3, width_mult=TINY_WIDTH),
                   checkpoint=tmp_path)
    for key, value in source.state_dict().items():
        assert torch.equal(target.state_dict()[key], value)
