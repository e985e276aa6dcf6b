"""The timm bridge registers timm's VGGs and gives them dense score maps."""

import pytest
import timm
import torch

import vggzoo
import vggzoo_timm.plugin as bridge
from vggzoo.runtime import TorchRunner


@pytest.fixture
def timm_plugin(vggzoo_register):
    vggzoo_register(bridge)  # a no-op where the installed entry point loaded it


def test_every_timm_vgg_is_registered_with_the_prefix(timm_plugin):
    assert vggzoo.list_models("timm/*") == sorted(f"timm/{a}" for a in timm.list_models("vgg*"))
    assert vggzoo.model_info("timm/vgg16").config == "D"


def test_score_map_mean_equals_timms_forward(timm_plugin):
    torch.manual_seed(0)
    model = vggzoo.create("timm/vgg11", fully_conv=True, num_classes=10).eval()
    x = torch.randn(1, 3, 256, 320)
    with torch.no_grad():
        scores = model.score_map(x)
        assert scores.shape == (1, 10, 2, 4)
        torch.testing.assert_close(scores.mean(dim=(2, 3)), model.net(x), rtol=1e-4, atol=1e-5)
        torch.testing.assert_close(TorchRunner(model).logits(x), model(x))


def test_bridge_errors_are_clear(timm_plugin):
    with pytest.raises(ValueError, match="width_mult must be 1.0"):
        vggzoo.create("timm/vgg11", width_mult=0.5)
    model = vggzoo.create("timm/vgg11", num_classes=3)
    with pytest.raises(ValueError, match="at least 224x224"):
        model(torch.zeros(1, 3, 200, 224))
