"""The LSUV initializer plugin."""

import json

import pytest
import torch
from torch import nn

import vggzoo
import vggzoo_lsuv.plugin as lsuv_plugin
from vggzoo.cli import main
from vggzoo.errors import VggzooError
from vggzoo.plugins.registry import INITIALIZERS
from vggzoo.plugins.testing import TINY_WIDTH, write_image_folder
from vggzoo_lsuv.plugin import lsuv


def _conv_output_variances(model, batch):
    variances = []
    hooks = [m.register_forward_hook(lambda _m, _i, out: variances.append(float(out.var())))
             for m in model.modules() if isinstance(m, nn.Conv2d)]
    with torch.no_grad():
        model.eval()(batch)
    for hook in hooks:
        hook.remove()
    return variances


def test_unit_variance_layers_with_the_input_scale_spread_evenly():
    """Layer l's output has the variance LSUV gives it (1) times the input's
    variance to the power (L - l) / L: the first conv keeps the input's scale,
    each layer gives up an equal share, the logits have unit variance."""
    torch.manual_seed(0)
    model = vggzoo.create("vgg11", num_classes=10, width_mult=TINY_WIDTH)
    batch = torch.randn(8, 3, 224, 224) * 50  # the paper's 0-255-scale, mean-subtracted inputs
    before = _conv_output_variances(model, batch)
    model.train()
    lsuv(model, batch=batch)
    assert model.training  # the mode is restored
    after = _conv_output_variances(model, batch)
    layers = 11  # 8 convs + 3 FC layers
    rms2 = float(batch.pow(2).mean())
    expected = [rms2 ** ((layers - l) / layers) for l in range(1, 9)]
    assert len(after) == len(before) == 8
    assert all(abs(a / e - 1) < 0.1 for a, e in zip(after, expected)), (after, expected)
    with torch.no_grad():
        logits = model.eval()(batch)
    assert abs(float(logits.var()) - 1) < 0.1


def test_every_conv_layer_has_unit_output_variance_on_unit_scale_inputs():
    torch.manual_seed(0)
    model = vggzoo.create("vgg16_bn", num_classes=10, width_mult=TINY_WIDTH)
    batch = torch.randn(8, 3, 224, 224)  # RMS 1: nothing to spread
    lsuv(model, batch=batch)
    after = _conv_output_variances(model, batch)
    assert len(after) == 13 and all(abs(v - 1) < 0.15 for v in after), after


def test_without_a_batch_it_says_what_it_needs():
    with pytest.raises(VggzooError, match="needs a batch of training inputs"):
        lsuv(vggzoo.create("vgg11", width_mult=TINY_WIDTH))


def test_vggzoo_train_init_lsuv(vggzoo_register, tmp_path):
    vggzoo_register(lsuv_plugin)
    assert INITIALIZERS.get("lsuv").info["needs_batch"] is True
    data = write_image_folder(tmp_path / "data")
    out = tmp_path / "run"
    code = main(["train", "--model", "vgg11", "--data", str(data), "--out", str(out),
                 "--epochs", "1", "--batch-size", "4", "--width-mult", str(TINY_WIDTH / 2),
                 "--scale", "224", "--init", "lsuv", "--device", "cpu", "--workers", "0",
                 "--no-progress"])
    assert code == 0
    assert json.loads((out / "config.json").read_text())["init"] == "lsuv"
