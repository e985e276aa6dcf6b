"""Weights load from torchvision and safetensors files into either head form."""

import urllib.error

import pytest
import torch
import torchvision
from safetensors.torch import save_file

import vggzoo
from vggzoo.errors import WeightsError

from vggzoo.plugins.testing import TINY_WIDTH as TINY


@pytest.fixture(scope="module")
def torchvision_vgg16_file(tmp_path_factory):
    torch.manual_seed(1234)
    reference = torchvision.models.vgg16().eval()
    path = tmp_path_factory.mktemp("tv") / "vgg16.pth"
    torch.save(reference.state_dict(), path)
    return reference, path


@pytest.mark.parametrize("fully_conv", [False, True])
def test_torchvision_checkpoint_gives_torchvision_logits(torchvision_vgg16_file, fully_conv):
    reference, path = torchvision_vgg16_file
    model = vggzoo.create("vgg16", fully_conv=fully_conv, weights=path).eval()
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        diff = (model(x) - reference(x)).abs().max().item()
    assert diff <= 1e-5


def test_fc_and_fully_conv_convert_both_ways_without_loss(tmp_path):
    fc = vggzoo.create("vgg11", width_mult=TINY).eval()
    conv = vggzoo.create("vgg11", fully_conv=True, width_mult=TINY, weights=fc.state_dict()).eval()
    back = vggzoo.create("vgg11", width_mult=TINY, weights=conv.state_dict()).eval()
    for key, value in fc.state_dict().items():
        assert torch.equal(back.state_dict()[key], value), key
    assert conv.classifier[0].weight.shape[-2:] == (7, 7)
    x = torch.randn(1, 3, 224, 224)
    torch.testing.assert_close(conv(x), fc(x), rtol=1e-5, atol=1e-6)


def test_safetensors_round_trip(tmp_path):
    model = vggzoo.create("vgg13_bn", width_mult=TINY).eval()
    path = vggzoo.save_weights(model, tmp_path / "m.safetensors")
    loaded = vggzoo.create("vgg13_bn", fully_conv=True, width_mult=TINY, weights=path).eval()
    x = torch.randn(1, 3, 224, 224)
    torch.testing.assert_close(loaded(x), model(x))
    assert loaded.pretrained_cfg["weights"] == str(path)


def test_plain_safetensors_file_from_elsewhere(tmp_path):
    model = vggzoo.create("vgg11", width_mult=TINY)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, tmp_path / "x.safetensors")
    vggzoo.create("vgg11", width_mult=TINY, weights=tmp_path / "x.safetensors")


def test_checkpoint_of_another_config_is_a_clear_error(tmp_path):
    path = tmp_path / "a.pth"  # a bare state dict: only its tensors tell
    torch.save(vggzoo.create("vgg11", width_mult=TINY).state_dict(), path)
    with pytest.raises(WeightsError, match="do not fit this model"):
        vggzoo.create("vgg16", width_mult=TINY, weights=path)
    # vggzoo's own files record the architecture, and say so first.
    saved = vggzoo.save_weights(vggzoo.create("vgg11", width_mult=TINY), tmp_path / "a.safetensors")
    with pytest.raises(WeightsError, match="holds model=vgg11 but model=vgg16"):
        vggzoo.create("vgg16", width_mult=TINY, weights=saved)


def test_missing_and_unreadable_files(tmp_path):
    with pytest.raises(WeightsError, match="does not exist"):
        vggzoo.create("vgg11", width_mult=TINY, weights=tmp_path / "nope.pth")
    bad = tmp_path / "bad.pth"
    bad.write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError, match="cannot read weights file"):
        vggzoo.create("vgg11", width_mult=TINY, weights=bad)


def test_pickles_that_run_code_are_refused(tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("owned",))

    path = tmp_path / "evil.pth"
    torch.save({"features.0.weight": Evil()}, path)
    with pytest.raises(WeightsError, match="cannot read"):
        vggzoo.create("vgg11", width_mult=TINY, weights=path)


def test_training_checkpoint_and_ddp_prefix(tmp_path):
    model = vggzoo.create("vgg11", width_mult=TINY)
    state = {f"module.{k}": v for k, v in model.state_dict().items()}
    torch.save({"model": state, "epoch": 3}, tmp_path / "ckpt.pt")
    loaded = vggzoo.create("vgg11", width_mult=TINY, weights=tmp_path / "ckpt.pt")
    assert torch.equal(loaded.features[0].weight, model.features[0].weight)


def test_other_class_count_keeps_the_trunk_and_warns(tmp_path):
    source = vggzoo.create("vgg11", width_mult=TINY)
    with pytest.warns(UserWarning, match="1000 classes but the model 10"):
        model = vggzoo.create("vgg11", num_classes=10, width_mult=TINY, weights=source.state_dict())
    assert torch.equal(model.features[0].weight, source.features[0].weight)
    assert model.classifier[6].weight.shape == (10, model.classifier[3].out_features)


def test_torchvision_weights_offline_say_where_to_put_the_file(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def offline(url, dst, *args, **kwargs):
        raise urllib.error.URLError("network unreachable")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    expected = str(tmp_path / "hub" / "checkpoints" / "vgg16-397923af.pth")
    with pytest.raises(WeightsError, match="put it at " + expected.replace(".", r"\.")):
        vggzoo.create("vgg16", weights="torchvision")


def test_torchvision_weights_for_a_model_torchvision_lacks():
    with pytest.raises(WeightsError, match="no weights for 'vgg16_c'"):
        vggzoo.create("vgg16_c", weights="torchvision")


def test_a_file_name_alone_does_not_select_torchvision_preprocessing(tmp_path):
    """Random values in a file named like torchvision's: not torchvision's
    weights, so not its preprocessing (recognition is by SHA-256)."""
    model = vggzoo.create("vgg11", width_mult=TINY)
    path = tmp_path / "vgg11-8a719046.pth"
    torch.save(model.state_dict(), path)
    loaded = vggzoo.create("vgg11", width_mult=TINY, weights=path)
    assert loaded.pretrained_cfg["preprocessing"] == vggzoo.PAPER
    assert loaded.pretrained_cfg["named_weights"] is None
