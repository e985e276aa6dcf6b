"""The paper's networks are built exactly as Table 1 describes."""

import pytest
import torch
from torch import nn

import vggzoo
from vggzoo.models.complexity import count_params

PAPER_PARAMS = {
    "vgg11": 132_863_336, "A": 132_863_336, "vgg11_lrn": 132_863_336, "A-LRN": 132_863_336,
    "vgg13": 133_047_848, "B": 133_047_848, "vgg16_c": 133_638_952, "C": 133_638_952,
    "vgg16": 138_357_544, "D": 138_357_544, "vgg19": 143_667_240, "E": 143_667_240,
}


@pytest.mark.parametrize("name", sorted(PAPER_PARAMS))
def test_parameter_counts_equal_the_paper(name):
    with torch.device("meta"):
        model = vggzoo.create(name)
    assert count_params(model) == PAPER_PARAMS[name]
    assert vggzoo.model_info(name).params == PAPER_PARAMS[name]


@pytest.mark.parametrize("name, gmacs", [("vgg11", 7.6), ("vgg13", 11.3), ("vgg16", 15.5), ("vgg19", 19.6)])
def test_macs_at_224_match_the_paper(name, gmacs):
    assert vggzoo.model_info(name).macs_224 / 1e9 == pytest.approx(gmacs, abs=0.06)


def test_all_canonical_names_and_aliases():
    assert vggzoo.list_models("vgg*") == sorted([
        "vgg11", "vgg11_lrn", "vgg13", "vgg13_shallow", "vgg16_c", "vgg16", "vgg19",
        "vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"])
    assert vggzoo.list_models("vgg16*") == ["vgg16", "vgg16_bn", "vgg16_c"]
    for letter, name in {"A": "vgg11", "A-LRN": "vgg11_lrn", "B": "vgg13", "C": "vgg16_c",
                         "D": "vgg16", "E": "vgg19"}.items():
        assert vggzoo.create(letter, width_mult=1 / 16).pretrained_cfg["name"] == name


def _convs(model):
    return [m for m in model.features if isinstance(m, nn.Conv2d)]


def test_config_c_has_1x1_convs_at_end_of_stages_3_4_5():
    kernels = [c.kernel_size[0] for c in _convs(vggzoo.create("C", width_mult=1 / 16))]
    assert kernels == [3, 3, 3, 3, 3, 3, 1, 3, 3, 1, 3, 3, 1]


def test_shallow_b_replaces_each_pair_with_one_5x5():
    convs = _convs(vggzoo.create("vgg13_shallow", width_mult=1 / 16))
    assert [c.kernel_size[0] for c in convs] == [5] * 5
    assert [c.padding[0] for c in convs] == [2] * 5


def test_lrn_follows_the_first_conv_with_alexnet_settings():
    layers = list(vggzoo.create("A-LRN", width_mult=1 / 16).features)
    lrn = [m for m in layers if isinstance(m, nn.LocalResponseNorm)]
    assert len(lrn) == 1 and layers.index(lrn[0]) == 2  # conv, relu, LRN
    assert (lrn[0].size, lrn[0].alpha, lrn[0].beta, lrn[0].k) == (5, 1e-4, 0.75, 2.0)


@pytest.mark.parametrize("name", ["vgg11_bn", "vgg13_bn", "vgg16_bn", "vgg19_bn"])
def test_batch_norm_variants_share_torchvision_keys(name):
    import torchvision

    with torch.device("meta"):
        ours = vggzoo.create(name).state_dict()
        theirs = getattr(torchvision.models, name)().state_dict()
    assert {k: v.shape for k, v in ours.items()} == {k: v.shape for k, v in theirs.items()}


def test_width_mult_scales_every_conv_and_hidden_fc():
    model = vggzoo.create("vgg16", width_mult=0.25)
    assert [c.out_channels for c in _convs(model)] == [16, 16, 32, 32, 64, 64, 64,
                                                        128, 128, 128, 128, 128, 128]
    assert model.classifier[0].out_features == 1024 and model.classifier[3].out_features == 1024
    assert model.classifier[6].out_features == 1000


def test_model_info_reports_paper_facts():
    info = vggzoo.model_info("E")
    assert info.name == "vgg19" and info.config == "E"
    assert info.default_input_size == (3, 224, 224) and info.min_input_size == 224
    assert info.preprocessing["mean_rgb_255"] == (123.68, 116.779, 103.939)
    assert info.preprocessing["torchvision_weights"]["std"] == (0.229, 0.224, 0.225)
    assert {(r["table"], r["top1_err"], r["top5_err"]) for r in info.paper_results} >= {
        (3, 25.5, 8.0), (4, 24.8, 7.5), (5, 24.4, 7.1), (6, 23.7, 6.8)}
