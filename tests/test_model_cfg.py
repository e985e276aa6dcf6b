"""``model.pretrained_cfg``: every builder argument recorded once, frozen,
replayed by conversion and by loading."""

from __future__ import annotations

import dataclasses
import types

import pytest
import torch

import vggzoo
from vggzoo.errors import OptionError
from vggzoo.models.cfg import PretrainedCfg
from vggzoo.plugins.testing import TINY_WIDTH, plugin_registered


def _dropout_rates(model: torch.nn.Module) -> set[float]:
    return {m.p for m in model.modules() if isinstance(m, torch.nn.Dropout)}


def test_to_fully_conv_keeps_input_channels_and_dropout():
    torch.manual_seed(0)
    fc = vggzoo.create("vgg11", in_chans=1, dropout=0.2, num_classes=5, width_mult=TINY_WIDTH).eval()
    conv = vggzoo.to_fully_conv(fc).eval()
    assert conv.fully_conv and conv.pretrained_cfg.in_chans == 1
    assert conv.pretrained_cfg.dropout == 0.2 and _dropout_rates(conv) == {0.2}
    assert conv.pretrained_cfg.input_size == (1, 224, 224)
    x = torch.randn(2, 1, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(conv(x), fc(x), rtol=1e-5, atol=1e-6)
        assert conv.score_map(torch.randn(1, 1, 256, 288)).shape == (1, 5, 2, 3)
    # The FC model and what was recorded about it are left as they were.
    assert not fc.fully_conv and not fc.pretrained_cfg.fully_conv


def test_the_cfg_is_frozen_and_reset_classifier_gives_a_new_one():
    model = vggzoo.create("vgg11", num_classes=3, width_mult=TINY_WIDTH)
    cfg = model.pretrained_cfg
    with pytest.raises(dataclasses.FrozenInstanceError):
        cfg.num_classes = 7
    with pytest.raises(TypeError):
        cfg["num_classes"] = 7  # the mapping view is read-only
    assert not hasattr(cfg, "update")
    model.reset_classifier(7)
    assert model.pretrained_cfg.num_classes == 7 and model.pretrained_cfg.classes is None
    assert cfg.num_classes == 3  # whoever held the old cfg sees no change
    assert model(torch.zeros(1, 3, 224, 224)).shape == (1, 7)


def test_the_mapping_view_the_readme_documents():
    cfg = vggzoo.create("D", in_chans=1, width_mult=TINY_WIDTH).pretrained_cfg
    assert cfg["name"] == cfg.name == "vgg16" and cfg.get("classes") is None
    assert cfg["input_size"] == (1, 224, 224) and "preprocessing" in cfg
    assert dict(cfg)["in_chans"] == 1 and cfg.get("no such key", "absent") == "absent"
    with pytest.raises(KeyError):
        cfg["no such key"]


def test_save_and_load_restore_every_recorded_field(tmp_path):
    torch.manual_seed(0)
    model = vggzoo.create("vgg11", in_chans=1, num_classes=3, width_mult=TINY_WIDTH, dropout=0.3,
                          fully_conv=True).eval()
    model.pretrained_cfg = dataclasses.replace(
        model.pretrained_cfg, classes=["cat", "dog", "owl"], preprocessing=vggzoo.TORCHVISION,
        train_scale="256-512")
    path = vggzoo.save_weights(model, tmp_path / "gray.safetensors")
    loaded = vggzoo.create("vgg11", weights=path).eval()  # nothing repeated
    expected = {
        "name": "vgg11", "config": "A", "fully_conv": True, "num_classes": 3,
        "width_mult": TINY_WIDTH, "in_chans": 1, "dropout": 0.3, "builder_kwargs": (),
        "min_input_size": 224, "preprocessing": vggzoo.TORCHVISION,
        "classes": ("cat", "dog", "owl"), "train_scale": "256-512",
        # Provenance: the file itself; a saved copy is no longer any named weights.
        "weights": str(path), "named_weights": None}
    assert set(expected) == {f.name for f in dataclasses.fields(PretrainedCfg)}
    assert {key: loaded.pretrained_cfg[key] for key in expected} == expected
    assert _dropout_rates(loaded) == {0.3}
    x = torch.randn(1, 1, 256, 256)
    with torch.no_grad():
        torch.testing.assert_close(loaded.score_map(x), model.score_map(x))
    # How to run the weights (form, dropout) may be given; what they are may not.
    fc = vggzoo.create("vgg11", weights=path, fully_conv=False, dropout=0.0)
    assert not fc.pretrained_cfg.fully_conv and _dropout_rates(fc) == {0.0}
    with pytest.raises(vggzoo.WeightsError, match="in_chans=1 but in_chans=3"):
        vggzoo.create("vgg11", weights=path, in_chans=3)
    with pytest.raises(OptionError, match="does not take drop_rate="):
        vggzoo.create("vgg11", weights=path, drop_rate=0.1)


def _build_plain_or_bn(*, fully_conv=False, num_classes=1000, width_mult=1.0, dropout=0.5,
                       in_chans=3, batch_norm=False):
    """A plugin builder with a keyword of its own."""
    return vggzoo.VGG([64, "M", 128, "M", 256, "M", 512, "M", 512, "M"], batch_norm=batch_norm,
                      fully_conv=fully_conv, num_classes=num_classes, width_mult=width_mult,
                      dropout=dropout, in_chans=in_chans)


@pytest.fixture
def vgg6():
    @vggzoo.hookimpl
    def vggzoo_register_models(register):
        register("vgg6-test", _build_plain_or_bn, description="one conv per stage")

    with plugin_registered(types.SimpleNamespace(vggzoo_register_models=vggzoo_register_models)):
        yield "vgg6-test"


def test_a_plugin_builders_own_keywords_are_replayed(vgg6, tmp_path):
    torch.manual_seed(0)
    model = vggzoo.create(vgg6, batch_norm=True, num_classes=4, width_mult=TINY_WIDTH).eval()
    assert model.pretrained_cfg.builder_kwargs == (("batch_norm", True),)
    conv = vggzoo.to_fully_conv(model).eval()  # without batch_norm its keys would not fit
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in conv.modules())
    x = torch.randn(1, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(conv(x), model(x), rtol=1e-5, atol=1e-6)
    loaded = vggzoo.create(vgg6, weights=vggzoo.save_weights(model, tmp_path / "bn.safetensors"))
    assert loaded.pretrained_cfg.builder_kwargs == (("batch_norm", True),)
    assert any(isinstance(m, torch.nn.BatchNorm2d) for m in loaded.modules())
