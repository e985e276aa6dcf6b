"""Named trunk layers and the perceptual feature network (issue 22, item 1)."""

import warnings

import piq.perceptual
import pytest
import torch
import torchvision
from torch import nn

import vggzoo
from vggzoo.data.preprocess import TORCHVISION
from vggzoo.errors import OptionError
from vggzoo.models.configs import LAYOUTS, SPECS
from vggzoo.models.layers import layer_names
from vggzoo.perceptual import ContentLoss, FeatureNet, StyleLoss
from vggzoo.perceptual.ranges import InputRangeError
from vggzoo.plugins.testing import TINY_WIDTH

KINDS = {"conv": nn.Conv2d, "bn": nn.BatchNorm2d, "relu": nn.ReLU, "pool": nn.MaxPool2d,
         "lrn": nn.LocalResponseNorm}


def test_layer_names_are_piqs_and_torchvisions_numbering():
    # piq's own tables (written by hand from torchvision's layout) are an independent reference.
    for layout, table in (("D", piq.perceptual.VGG16_LAYERS), ("E", piq.perceptual.VGG19_LAYERS)):
        names = layer_names(LAYOUTS[layout])
        assert {k: str(v) for k, v in names.items()} == table
    assert layer_names(LAYOUTS["E"])["relu5_4"] == 35
    bn = layer_names(LAYOUTS["D"], batch_norm=True)
    tv_bn = torchvision.models.vgg16_bn(weights=None).features
    assert len(bn) == len(tv_bn)
    for name, index in bn.items():
        assert isinstance(tv_bn[index], KINDS[name.rstrip("0123456789_")]), name


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
def test_every_config_names_every_layer(spec):
    model = vggzoo.create(spec.name, width_mult=TINY_WIDTH, num_classes=0)
    names = layer_names(LAYOUTS[spec.layout], batch_norm=spec.batch_norm)
    assert len(names) == len(model.features)
    for name, index in names.items():
        assert isinstance(model.features[index], KINDS[name.rstrip("0123456789_")]), name
    convs = [n for n in names if n.startswith("conv")]
    features = FeatureNet(model, convs[-2:] + ["relu1_1"], preprocessing=TORCHVISION)
    maps = features(torch.rand(1, 3, 32, 32))
    assert list(maps) == convs[-2:] + ["relu1_1"]
    if spec.layout == "C":  # C's third conv of stages 3-5 is its 1x1 layer
        assert model.features[names["conv3_3"]].kernel_size == (1, 1)


@pytest.fixture(scope="module")
def tv16():
    torch.manual_seed(3)
    return torchvision.models.vgg16(weights=None).eval()


def _normalised(x):
    mean = torch.tensor(TORCHVISION.mean).view(1, 3, 1, 1)
    std = torch.tensor(TORCHVISION.std).view(1, 3, 1, 1)
    return (x - mean) / std


def test_conv_layers_are_pre_activation_never_aliased(tv16):
    features = FeatureNet("vgg16", ["conv3_3", "relu3_3"], weights=tv16.state_dict(),
                          preprocessing=TORCHVISION)
    x = torch.rand(2, 3, 32, 32)
    maps = features(x)
    with torch.no_grad():
        reference = tv16.features[:15](_normalised(x))  # ends at conv3_3, before its ReLU
    assert (maps["conv3_3"] < 0).any()
    torch.testing.assert_close(maps["conv3_3"], reference, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(maps["relu3_3"], reference.clamp(min=0), atol=1e-5, rtol=1e-4)


def test_input_ranges_map_to_the_weights_preprocessing(tv16):
    x = torch.rand(2, 3, 32, 32)
    got = {r: FeatureNet("vgg16", ["relu2_2"], weights=tv16.state_dict(), input_range=r,
                         preprocessing=TORCHVISION)(v)["relu2_2"]
           for r, v in (("0-1", x), ("-1-1", 2 * x - 1), ("0-255", 255 * x))}
    with torch.no_grad():
        reference = tv16.features[:9](_normalised(x))
    for value in got.values():
        torch.testing.assert_close(value, reference, atol=1e-5, rtol=1e-4)


def test_data_outside_the_declared_range_is_an_error_or_one_warning():
    model = vggzoo.create("vgg11", width_mult=TINY_WIDTH, num_classes=0)
    strict = FeatureNet(model, ["relu2_1"], preprocessing=TORCHVISION)
    with pytest.raises(InputRangeError, match=r"input_range='0-255'"):
        strict(torch.rand(1, 3, 32, 32) * 255)
    with pytest.raises(InputRangeError, match=r"input_range='-1-1'"):
        strict(torch.rand(1, 3, 32, 32) * 2 - 1)
    with pytest.raises(InputRangeError, match="non-finite"):
        strict(torch.full((1, 3, 32, 32), float("nan")))
    strict(torch.rand(1, 3, 32, 32) * 1.05 - 0.02)  # a network output overshooting a little
    lenient = FeatureNet(model, ["relu2_1"], preprocessing=TORCHVISION, input_range="-1-1",
                         strict=False)
    with pytest.warns(UserWarning, match="strict=False") as seen:
        lenient(torch.rand(1, 3, 32, 32) * 255)
        lenient(torch.rand(1, 3, 32, 32) * 255)
    assert len(seen) == 1
    with pytest.raises(OptionError, match="0-1, -1-1, 0-255"):
        FeatureNet(model, ["relu2_1"], preprocessing=TORCHVISION, input_range="0..1")
    with pytest.raises(OptionError, match="no layer 'relu2_2'.*it has conv1_1, relu1_1"):
        FeatureNet(model, ["relu2_2"], preprocessing=TORCHVISION)


def test_trunk_is_frozen_and_stays_in_eval_mode_but_passes_gradients():
    model = vggzoo.create("vgg11_bn", width_mult=TINY_WIDTH, num_classes=0)
    features = FeatureNet(model, ["relu3_2"], preprocessing=TORCHVISION)
    stats = features.trunk[1].running_mean.clone()
    features.train()
    x = torch.rand(2, 3, 32, 32, requires_grad=True)
    features(x)["relu3_2"].square().sum().backward()
    assert not any(m.training for m in features.trunk.modules())
    assert torch.equal(features.trunk[1].running_mean, stats)
    assert all(p.grad is None and not p.requires_grad for p in features.parameters())
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.requires_grad for p in model.parameters())  # the user's model is left alone


def test_loss_gradients_match_finite_differences_in_float64():
    """The backpropagated gradient along a random direction equals a central
    difference of the loss (one direction: gradcheck's full Jacobian is slow)."""
    model = vggzoo.create("vgg11", width_mult=TINY_WIDTH, num_classes=0)
    for loss_type in (ContentLoss, StyleLoss):
        loss = loss_type(model=model, layers={"relu2_1": 1.0, "conv3_1": 0.5},
                         preprocessing=TORCHVISION).double()
        x = torch.rand(1, 3, 16, 16, dtype=torch.float64, requires_grad=True)
        target = torch.rand(1, 3, 16, 16, dtype=torch.float64)
        loss(x, target).backward()
        direction = torch.randn_like(x)
        eps = 1e-6
        with torch.no_grad():
            numeric = (loss(x + eps * direction, target)
                       - loss(x - eps * direction, target)) / (2 * eps)
        analytic = (x.grad * direction).sum()
        assert analytic.abs() > 0
        torch.testing.assert_close(analytic, numeric, rtol=1e-5, atol=1e-10)


def test_johnson_and_gatys_losses_follow_the_papers_formulas(tv16):
    x, target = torch.rand(2, 3, 32, 32), torch.rand(2, 3, 32, 32)
    state = tv16.state_dict()
    with torch.no_grad():
        trunk = _non_inplace(tv16.features)
        fx, ft = trunk(_normalised(x)), trunk(_normalised(target))
        # Johnson: relu2_2 feature reconstruction, mean squared error per image
        want = ((fx[8] - ft[8]) ** 2).flatten(1).mean(1).mean()
        johnson = ContentLoss("johnson", weights=state, preprocessing=TORCHVISION)
        torch.testing.assert_close(johnson(x, target), want, rtol=1e-4, atol=1e-6)
        # Gatys: style with unnormalised Grams and 1/(4 N^2 M^2), on relu1_1 of VGG16 here
        f, a = fx[1].flatten(2), ft[1].flatten(2)
        gram_x, gram_t = f @ f.transpose(1, 2), a @ a.transpose(1, 2)
        n, m = f.shape[1], f.shape[2]
        want_style = (((gram_x - gram_t) ** 2).sum((1, 2)) / (4 * n ** 2 * m ** 2)).mean()
        gatys = StyleLoss("gatys", layers={"relu1_1": 1.0}, model="vgg16", weights=state,
                          preprocessing=TORCHVISION)
        torch.testing.assert_close(gatys(x, target), want_style, rtol=1e-4, atol=1e-9)


def _non_inplace(features):
    layers = [nn.ReLU() if isinstance(m, nn.ReLU) else m for m in features]

    def run(x):
        outs = []
        for layer in layers:
            x = layer(x)
            outs.append(x)
        return outs

    return run
