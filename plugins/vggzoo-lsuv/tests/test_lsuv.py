"""The LSUV initializer plugin."""

import json

import pytest
import torch
from torch import nn

import vggzoo
import vggzoo_lsuv.plugin as lsuv_plugin
from vggzoo.cli import main
from vggzoo.errors import VggzooError
from vggzoo.registry import INITIALIZERS
from vggzoo.testing import TINY_WIDTH, write_image_folder
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


@pytest.mark.parametrize("name", ["vgg11", "vgg16_bn"])
def test_every_conv_layer_has_unit_output_variance(name):
    torch.manual_seed(0)
    model = vggzoo.create(name, num_classes=10, width_mult=TINY_WIDTH)
    batch = torch.randn(8, 3, 224, 224) * 50  # the paper's 0-255-scale, mean-subtracted inputs
    before = _conv_output_variances(model, batch)
    assert not all(abs(v - 1) < 0.1 for v in before)  # the default init is far from it
    model.train()
    lsuv(model, batch=batch)
    assert model.training  # the mode is restored
    after = _conv_output_variances(model, batch)
    assert len(after) == len(before) and all(abs(v - 1) < 0.1 for v in after), after


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
