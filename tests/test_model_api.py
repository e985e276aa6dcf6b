"""The model API timm and torchvision users reach for: reset_classifier,
forward_head(pre_logits=True), num_classes=0, forward_intermediates,
features_only with feature_info, create_feature_extractor, list_models
filters, pretrained=True and named weights."""

import types
import urllib.error

import pytest
import torch
from torchvision.models.feature_extraction import create_feature_extractor

import vggzoo
from vggzoo.errors import OptionError, WeightsError
from vggzoo.data.preprocess import TORCHVISION
from vggzoo.plugins.testing import TINY_WIDTH, hub_cached_weights, plugin_registered

#: VGG16's stage widths at width 1 (relu1_2 ... relu5_3) and their strides.
VGG16_CHANNELS = [64, 128, 256, 512, 512]
STRIDES = [1, 2, 4, 8, 16]


def test_feature_info_and_forward_intermediates_shapes():
    net = vggzoo.create("vgg16", width_mult=0.25).eval()
    assert net.feature_info.channels() == [c // 4 for c in VGG16_CHANNELS]
    assert net.feature_info.reduction() == STRIDES
    assert [s["name"] for s in net.feature_info] == ["relu1_2", "relu2_2", "relu3_3",
                                                     "relu4_3", "relu5_3"]
    x = torch.randn(2, 3, 64, 96)  # feature extraction takes small, non-square inputs
    with torch.no_grad():
        final, maps = net.forward_intermediates(x)
        only = net.forward_intermediates(x, indices=[1, 3], intermediates_only=True)
    assert [tuple(m.shape) for m in maps] == [(2, c // 4, 64 // s, 96 // s)
                                              for c, s in zip(VGG16_CHANNELS, STRIDES)]
    assert tuple(final.shape) == (2, 128, 2, 3)
    assert torch.equal(only[0], maps[1]) and torch.equal(only[1], maps[3])
    with pytest.raises(ValueError, match="out of range"):
        net.forward_intermediates(x, indices=[5])


def test_features_only_returns_the_stages_asked_for():
    extractor = vggzoo.create("vgg16_bn", features_only=True, out_indices=(2, 3, 4),
                              width_mult=TINY_WIDTH).eval()
    assert extractor.feature_info.channels() == [c // 16 for c in VGG16_CHANNELS[2:]]
    assert extractor.feature_info.reduction() == STRIDES[2:]
    with torch.no_grad():
        maps = extractor(torch.randn(1, 3, 128, 128))
    assert [tuple(m.shape) for m in maps] == [(1, 16, 32, 32), (1, 32, 16, 16), (1, 32, 8, 8)]


def test_torchvision_create_feature_extractor_traces_a_vggzoo_model():
    net = vggzoo.create("vgg11", width_mult=TINY_WIDTH).eval()
    extractor = create_feature_extractor(net, {"features.9": "relu3_2", "classifier.6": "logits"})
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        out = extractor(x)
        expected = net(x)
    assert tuple(out["relu3_2"].shape) == (2, 16, 56, 56)
    assert torch.allclose(out["logits"], expected, atol=1e-6)
    with pytest.raises(vggzoo.InputSizeError):  # the eager model still checks sizes
        net(torch.randn(1, 3, 160, 160))


def test_num_classes_zero_gives_pooled_trunk_features_and_loads_classifier_weights():
    full = vggzoo.create("vgg13", width_mult=TINY_WIDTH).eval()
    trunk = vggzoo.create("vgg13", num_classes=0, width_mult=TINY_WIDTH,
                          weights=full.state_dict()).eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        pooled = trunk(x)
        expected = full.forward_features(x).mean(dim=(2, 3))
    assert pooled.shape == (2, 32) and torch.allclose(pooled, expected)


def test_reset_classifier_and_pre_logits():
    net = vggzoo.create("vgg11", width_mult=TINY_WIDTH).eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        features = net.forward_features(x)
        penultimate = net.forward_head(features, pre_logits=True)
        assert penultimate.shape == (2, 256)
        assert torch.allclose(net.classifier[6](penultimate), net(x), atol=1e-6)
    fc7 = net.classifier[3].weight.clone()
    net.reset_classifier(10)
    assert net(x).shape == (2, 10) and torch.equal(net.classifier[3].weight, fc7)
    assert net.pretrained_cfg["num_classes"] == 10
    net.reset_classifier(0)
    assert net(x).shape == (2, 32)
    dense = vggzoo.create("vgg11", fully_conv=True, width_mult=TINY_WIDTH)
    dense.reset_classifier(3)
    assert dense.score_map(torch.randn(1, 3, 256, 256)).shape == (1, 3, 2, 2)


def test_list_models_patterns_exclude_and_pretrained():
    assert vggzoo.list_models("vgg1[13]*", exclude=["*_bn", "*lrn"]) == [
        "vgg11", "vgg13", "vgg13_shallow"]
    named = vggzoo.list_models(pretrained=True)
    assert named == sorted([f"{m}.tv_in1k" for m in (
        "vgg11", "vgg11_bn", "vgg13", "vgg13_bn", "vgg16", "vgg16_bn", "vgg19", "vgg19_bn")]
        + ["vgg16.tv_features"])
    assert vggzoo.list_models("vgg16*", exclude="*_bn", pretrained=True) == ["vgg16.tv_features",
                                                                            "vgg16.tv_in1k"]


def test_named_weights_carry_torchvision_facts():
    from torchvision.models import VGG19_BN_Weights

    from vggzoo.weights.named import get_weights

    name, spec = get_weights("vgg19_bn.tv_in1k")
    reference = VGG19_BN_Weights.IMAGENET1K_V1
    assert spec.file_name == reference.url.rsplit("/", 1)[1]
    assert spec.file_name.split("-")[1].startswith(spec.sha256)
    assert spec.classes == tuple(reference.meta["categories"]) and spec.num_classes == 1000
    assert spec.metrics["ImageNet-1K"]["acc@1"] == reference.meta["_metrics"]["ImageNet-1K"]["acc@1"]
    assert spec.preprocessing == TORCHVISION


def test_pretrained_offline_says_which_file_to_put_where(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(url, dst, *args, **kwargs):
        raise urllib.error.URLError("network unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    target = tmp_path / "hub" / "checkpoints" / "vgg13-19584684.pth"
    with pytest.raises(WeightsError, match="put it at " + str(target).replace(".", r"\.")):
        vggzoo.create("vgg13", pretrained=True)
    with pytest.raises(WeightsError, match="vgg13.tv_in1k"):
        vggzoo.create("vgg13", weights="vgg13.tv_in1k")
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(b"some other file")
    with pytest.raises(WeightsError, match="is not the file of weights vgg13.tv_in1k"):
        vggzoo.create("vgg13", pretrained=True)


def test_plugin_weights_load_from_the_hub_cache_by_name(monkeypatch, tmp_path, fresh_plugins):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    source = vggzoo.create("vgg11", num_classes=3, width_mult=TINY_WIDTH)
    spec = hub_cached_weights(source, tmp_path, "tiny-abc.pth", preprocessing=TORCHVISION,
                              num_classes=3, width_mult=TINY_WIDTH, classes=("cat", "dog", "owl"),
                              source="a test")

    @vggzoo.hookimpl
    def vggzoo_register_weights(register):
        register("vgg11.tiny_3", spec)

    with plugin_registered(types.SimpleNamespace(vggzoo_register_weights=vggzoo_register_weights)):
        assert vggzoo.list_models("vgg11", pretrained=True) == ["vgg11.tiny_3", "vgg11.tv_in1k"]
        for model in (vggzoo.create("vgg11.tiny_3", pretrained=True),
                      vggzoo.create("vgg11", weights="vgg11.tiny_3")):
            cfg = model.pretrained_cfg
            assert cfg["classes"] == ("cat", "dog", "owl") and cfg["width_mult"] == TINY_WIDTH
            assert cfg["named_weights"] == "vgg11.tiny_3" and cfg["preprocessing"] == TORCHVISION
            assert torch.equal(model.classifier[6].weight, source.classifier[6].weight)
        with pytest.raises(WeightsError, match="num_classes=3 but num_classes=1000"):
            vggzoo.create("vgg11", weights="vgg11.tiny_3", num_classes=1000)
        # The same bytes under another name are recognised by their hash.
        renamed = tmp_path / "vgg11.pth"
        renamed.write_bytes(spec.cache_path().read_bytes())
        model = vggzoo.create("vgg11", weights=renamed)
        assert model.pretrained_cfg["classes"] == ("cat", "dog", "owl")
        assert model.pretrained_cfg["preprocessing"] == TORCHVISION
    with pytest.raises(WeightsError, match="pass pretrained=True"):
        vggzoo.create("vgg11.tv_in1k")


def test_freeze_up_to_a_named_layer_and_head_lr_groups():
    from vggzoo.errors import ConfigError
    from vggzoo.training.transfer import freeze, param_groups

    net = vggzoo.create("vgg16_bn", num_classes=4, width_mult=TINY_WIDTH)
    frozen = freeze(net, "conv2_1")  # conv1_1, conv1_2, conv2_1 with their batch norms
    assert {name.rsplit(".", 1)[0] for name in frozen} == {
        "features.0", "features.1", "features.3", "features.4", "features.7", "features.8"}
    assert not net.features[8].weight.requires_grad and net.features[10].weight.requires_grad
    groups = param_groups(net, 0.01, 0.1)
    assert [(g["name"], g["lr"]) for g in groups] == [("trunk", 0.01), ("head", 0.1)]
    assert sum(p.numel() for g in groups for p in g["params"]) == sum(
        p.numel() for p in net.parameters() if p.requires_grad)
    net.train()
    net(torch.randn(2, 3, 224, 224))
    assert not net.features[1].training and net.features[11].training  # frozen BN stays eval
    with pytest.raises(ConfigError, match="conv1_1, conv1_2, conv2_1, ..., conv5_3"):
        freeze(net, "conv9_9")


def test_input_channels_come_from_the_weights(tmp_path):
    gray = vggzoo.create("vgg11", in_chans=1, num_classes=2, width_mult=TINY_WIDTH)
    # metadata as an earlier vggzoo wrote it: a few facts, strings only
    path = vggzoo.save_weights(gray, tmp_path / "gray.safetensors", metadata={
        "model": "vgg11", "width_mult": str(TINY_WIDTH), "num_classes": "2", "in_chans": "1"})
    loaded = vggzoo.create("vgg11", weights=path).eval()
    assert loaded.pretrained_cfg["in_chans"] == 1 and loaded.pretrained_cfg["input_size"][0] == 1
    assert loaded(torch.randn(1, 1, 224, 224)).shape == (1, 2)
    bare = vggzoo.create("vgg11", weights=gray.state_dict())  # shapes say 1 channel, width 1/16
    assert bare.pretrained_cfg["in_chans"] == 1 and bare.pretrained_cfg["width_mult"] == TINY_WIDTH
    with pytest.raises(WeightsError, match="in_chans=1 but in_chans=3"):
        vggzoo.create("vgg11", weights=path, in_chans=3)


@pytest.mark.parametrize("keyword, hint", [("drop_rate", "dropout="), ("widthmult", "width_mult="),
                                           ("colour", None)])
def test_an_unknown_create_keyword_is_one_clear_error(keyword, hint):
    with pytest.raises(OptionError) as caught:
        vggzoo.create("vgg11", width_mult=1 / 16, **{keyword: 0.1})
    message = str(caught.value)
    assert f"does not take {keyword}=" in message and "it takes: dropout" in message
    assert "width_mult" in message and "TypeError" not in message
    if hint:
        assert f"did you mean {hint}" in message
