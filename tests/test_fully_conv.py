"""Fully-convolutional models: any input of at least 224, dense score maps."""

import pytest
import torch

import vggzoo
from vggzoo.errors import InputSizeError

from vggzoo.plugins.testing import TINY_WIDTH as TINY


@pytest.mark.parametrize("size, expected", [((224, 224), (1, 1)), ((384, 384), (6, 6)),
                                            ((256, 320), (2, 4)), ((512, 288), (10, 3))])
def test_score_map_size_follows_the_input(size, expected):
    model = vggzoo.create("vgg16", fully_conv=True, width_mult=TINY).eval()
    scores = model.score_map(torch.randn(2, 3, *size))
    assert scores.shape == (2, 1000, *expected)


def test_forward_is_the_spatial_mean_of_the_score_map():
    model = vggzoo.create("vgg11", fully_conv=True, width_mult=TINY).eval()
    x = torch.randn(1, 3, 288, 352)
    torch.testing.assert_close(model(x), model.score_map(x).mean(dim=(2, 3)))


def test_no_adaptive_pooling_anywhere():
    for name in vggzoo.list_models("vgg*"):
        model = vggzoo.create(name, fully_conv=True, width_mult=TINY)
        assert not any("Adaptive" in type(m).__name__ for m in model.modules()), name


@pytest.mark.parametrize("size", [(223, 300), (300, 200), (100, 100)])
def test_input_below_224_names_the_minimum(size):
    model = vggzoo.create("vgg16", fully_conv=True, width_mult=TINY)
    with pytest.raises(ValueError, match="at least 224x224"):
        model(torch.zeros(1, 3, *size))


def test_fc_model_takes_224_to_255_and_points_to_fully_conv_otherwise():
    model = vggzoo.create("vgg16", width_mult=TINY).eval()
    assert model(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)
    assert model(torch.zeros(1, 3, 255, 240)).shape == (1, 1000)
    with pytest.raises(InputSizeError, match="224 to 255.*fully_conv=True"):
        model(torch.zeros(1, 3, 256, 256))


def test_num_classes_sets_the_score_map_depth():
    model = vggzoo.create("vgg13", fully_conv=True, num_classes=10, width_mult=TINY)
    assert model.score_map(torch.zeros(1, 3, 256, 256)).shape == (1, 10, 2, 2)


def test_pretrained_cfg_travels_with_the_model():
    model = vggzoo.create("D", fully_conv=True, width_mult=TINY)
    cfg = model.pretrained_cfg
    assert cfg["name"] == "vgg16" and cfg["config"] == "D" and cfg["fully_conv"]
    assert cfg["min_input_size"] == 224 and cfg["preprocessing"] == vggzoo.PAPER
