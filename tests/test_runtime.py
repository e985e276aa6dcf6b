"""The runner interface and its PyTorch implementation."""

import pytest
import torch

import vggzoo
from vggzoo.errors import UnknownNameError
from vggzoo.runtime import TorchRunner, create_runner
from vggzoo.plugins.testing import TINY_WIDTH


def test_torch_runner_converts_an_fc_model_and_matches_it_at_224():
    fc = vggzoo.create("vgg11_bn", num_classes=7, width_mult=TINY_WIDTH).eval()
    runner = TorchRunner(fc)
    x = torch.randn(3, 3, 224, 224)
    with torch.no_grad():
        expected = fc(x)
    torch.testing.assert_close(runner.logits(x), expected, rtol=1e-5, atol=1e-5)
    assert runner.num_classes == 7 and runner.preprocessing == vggzoo.PAPER
    posteriors = runner.posteriors(torch.randn(2, 3, 256, 320))
    assert posteriors.shape == (2, 7)
    torch.testing.assert_close(posteriors.sum(dim=1), torch.ones(2))


def test_to_fully_conv_keeps_weights_and_metadata(tmp_path):
    fc = vggzoo.create("vgg13", width_mult=TINY_WIDTH)
    conv = vggzoo.to_fully_conv(fc)
    assert conv.fully_conv and conv.pretrained_cfg["name"] == "vgg13"
    assert torch.equal(conv.classifier[0].weight.flatten(1), fc.classifier[0].weight)
    assert vggzoo.to_fully_conv(conv) is conv


def test_create_runner_by_backend_name(tmp_path):
    path = vggzoo.save_weights(vggzoo.create("vgg11", width_mult=TINY_WIDTH), tmp_path / "w.safetensors")
    runner = create_runner("torch", model="vgg11", weights=path, width_mult=TINY_WIDTH)
    assert runner.logits(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)
    with pytest.raises(UnknownNameError, match="unknown runner 'torchh'.*torch"):
        create_runner("torchh", model="vgg11")
