"""LPIPS equal to the lpips package, the drop-ins for lpips and piq, bf16,
gradients, batched pairs and `vggzoo lpips` (issue 22).

The trunk is a random VGG16 in torchvision's format (nothing downloaded); the
learned layers are the ones the lpips wheel ships.  Images are 64x64.
"""

import json
import urllib.error

import lpips
import numpy as np
import piq
import pytest
import torch
import torchvision
from PIL import Image

from vggzoo.cli import main
from vggzoo.errors import InputRangeError, WeightsError
from vggzoo.perceptual import LPIPS, lpips_pairs, pairs_from_csv, pairs_from_folders
from vggzoo.perceptual.compat import lpips_offline, piq_features, piq_layers
from vggzoo.perceptual.inference import lpips_distance
from vggzoo.perceptual.compat import lpips_reference
from vggzoo.perceptual.lpips import packaged_lin_weights


@pytest.fixture(scope="module")
def trunk_state():
    torch.manual_seed(11)
    return torchvision.models.vgg16(weights=None).state_dict()


@pytest.fixture(scope="module")
def reference(trunk_state):
    """lpips' own model (its own trunk, not vggzoo's) with the same trunk weights."""
    return lpips_reference(trunk_state)


@pytest.fixture(scope="module")
def ours(trunk_state):
    return LPIPS(weights=trunk_state, input_range="0-1")


def _pairs(n=4, side=64, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, side, side, generator=g)
    noise = torch.linspace(0.02, 0.5, n).view(n, 1, 1, 1)
    return x, (x + noise * torch.randn(x.shape, generator=g)).clamp(0, 1)


def test_lpips_equals_the_lpips_package_within_1e6(reference, ours, trunk_state):
    x, y = _pairs()
    with torch.no_grad():
        want, want_layers = reference(x, y, retPerLayer=True, normalize=True)
        got, got_layers = ours(x, y, per_layer=True)
        signed = LPIPS(weights=trunk_state)(2 * x - 1, 2 * y - 1)  # lpips' own convention
    assert (got - want.flatten()).abs().max() <= 1e-6
    assert (signed - want.flatten()).abs().max() <= 1e-6
    for mine, theirs in zip(got_layers, want_layers):
        assert (mine - theirs.flatten()).abs().max() <= 1e-6
    assert want.flatten().unique().numel() == 4  # the pairs really differ


def test_lpips_declared_minus1_1_refuses_0_255_pixels(trunk_state):
    from vggzoo.perceptual.ranges import InputRangeError

    x, y = _pairs(1)
    with pytest.raises(InputRangeError, match="input_range='0-255'"):
        LPIPS(weights=trunk_state)(x * 255, y * 255)


def test_lin_weights_from_the_wheel_a_file_or_a_clear_error(tmp_path, trunk_state, ours):
    assert packaged_lin_weights().parts[-3:] == ("weights", "v0.1", "vgg.pth")
    shipped = torch.load(packaged_lin_weights(), map_location="cpu", weights_only=True)
    for k, lin in enumerate(ours.lins):
        assert torch.equal(lin.weight, shipped[f"lin{k}.model.1.weight"])
    damaged = tmp_path / "vgg.pth"
    torch.save({**shipped, "lin2.model.1.weight": torch.zeros(1, 3, 1, 1)}, damaged)
    with pytest.raises(WeightsError, match=r"lin2.model.1.weight should be a \(1, 256, 1, 1\)"):
        LPIPS(weights=trunk_state, lin_weights=damaged)
    damaged.write_bytes(b"not a torch file")
    with pytest.raises(WeightsError, match="cannot read LPIPS layer weights"):
        LPIPS(weights=trunk_state, lin_weights=damaged)


def test_lpips_backpropagates_to_the_input_never_into_the_trunk(ours):
    x, y = _pairs(2)
    x.requires_grad_(True)
    ours(x, y).sum().backward()
    assert x.grad is not None and torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in ours.parameters())


def test_bf16_autocast_deviation_is_bounded(ours):
    """Measured on the AVX-512 EPYC: |Δ| <= 2e-4 on distances 0.001-0.07 (2% relative
    at the smallest); the bound keeps a wide margin for other CPUs."""
    x, y = _pairs(6)
    with torch.no_grad():
        exact = ours(x, y)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fast = ours(x, y).float()
    assert (fast - exact).abs().max() <= 0.005
    assert torch.equal(torch.argsort(fast), torch.argsort(exact))


def test_fast_paths_agree_with_the_lpips_package_and_still_check_the_range(reference,
                                                                            trunk_state):
    """The frozen fp32 path stays exact; bf16 keeps the order; both refuse 0-255 pixels."""
    metric = LPIPS(weights=trunk_state, input_range="0-1")
    x, y = _pairs(4, side=32)
    with torch.no_grad():
        expected = reference(x * 2 - 1, y * 2 - 1).flatten()
    exact, bf16 = lpips_distance(metric, "fp32"), lpips_distance(metric, "bf16")
    assert (exact(x, y) - expected).abs().max() <= 1e-6
    assert (exact(x[:2], y[:2]) - expected[:2]).abs().max() <= 1e-6  # another shape
    fast = bf16(x, y)
    assert (fast - expected).abs().max() <= 0.01
    assert torch.equal(torch.argsort(fast), torch.argsort(expected))
    with pytest.raises(InputRangeError):
        exact(x * 255, y)


def test_lpips_offline_drop_in_downloads_nothing(monkeypatch, reference, trunk_state):
    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", offline)
    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    metric = lpips_offline(trunk_state)
    assert isinstance(metric, lpips.LPIPS)
    x, y = _pairs(3, seed=5)
    with torch.no_grad():
        assert (metric(x, y, normalize=True) - reference(x, y, normalize=True)).abs().max() <= 1e-6


def test_piq_with_vggzoos_trunk_matches_torchvision_and_is_not_aliased(trunk_state):
    tv = torchvision.models.vgg16(weights=None)
    tv.load_state_dict(trunk_state)
    ours = piq_features(weights=trunk_state, last="pool3")
    tv.features = tv.features[:17]  # up to pool3 as well: piq runs every module it is given
    x, y = _pairs(2, side=32)

    def content(extractor, names):
        return piq.ContentLoss(feature_extractor=extractor, layers=piq_layers(names),
                               weights=[1.0] * len(names))(x, y)

    def style(extractor, names):
        return piq.StyleLoss(feature_extractor=extractor, layers=piq_layers(names),
                             weights=[1.0] * len(names))(x, y)

    stage_ends = ["relu1_2", "relu2_2", "relu3_3"]
    torch.testing.assert_close(content(ours, stage_ends), content(tv.features, stage_ends))
    torch.testing.assert_close(style(ours, stage_ends), style(tv.features, stage_ends))
    # torchvision's in-place ReLUs turn piq's "conv3_3" into relu3_3; vggzoo's trunk does not.
    aliased = content(tv.features, ["conv3_3"])
    torch.testing.assert_close(aliased, content(ours, ["relu3_3"]))
    assert not torch.allclose(content(ours, ["conv3_3"]), aliased)


@pytest.fixture
def image_pairs(tmp_path):
    """Folders a/ and b/ with the same relative paths at two sizes; b blurred."""
    from PIL import ImageFilter

    from vggzoo.data.samples import load_photo

    photo = Image.fromarray(load_photo("chelsea"))
    for folder in ("a", "b", "a/sub", "b/sub"):
        (tmp_path / folder).mkdir()
    names = []
    for i, (side, blur) in enumerate([(64, 1), (48, 3), (64, 2), (48, 0.5), (64, 4)]):
        name = f"sub/{i}.png" if i % 2 else f"{i}.png"
        crop = photo.crop((20 * i, 10 * i, 20 * i + side, 10 * i + side))
        crop.save(tmp_path / "a" / name)
        crop.filter(ImageFilter.GaussianBlur(blur)).save(tmp_path / "b" / name)
        names.append(name)
    return tmp_path, names


def test_pairs_of_folders_are_batched_by_size_and_returned_in_order(image_pairs, ours):
    root, names = image_pairs
    pairs = pairs_from_folders(root / "a", root / "b")
    assert [str(a.relative_to(root / "a")) for a, _ in pairs] == sorted(names)
    calls, seen = [], []

    def distance(x, y):
        calls.append(tuple(x.shape))
        return ours(x, y)

    results = lpips_pairs(pairs, distance, batch_size=2,
                          progress=lambda done, total, **info: seen.append((done, total)))
    assert sorted(calls) == [(1, 3, 64, 64), (2, 3, 48, 48), (2, 3, 64, 64)]
    assert seen[0] == (0, 5) and seen[-1] == (5, 5)
    for (a, b), result in zip(pairs, results):
        x = torch.from_numpy(np.array(Image.open(a).convert("RGB"))).permute(2, 0, 1)[None] / 255
        y = torch.from_numpy(np.array(Image.open(b).convert("RGB"))).permute(2, 0, 1)[None] / 255
        with torch.no_grad():
            assert result.distance == pytest.approx(float(ours(x.float(), y.float())), abs=1e-6)
        assert result.a == str(a) and (result.width, result.height) == Image.open(a).size


def test_pairs_csv_and_mismatches_are_one_line_errors(image_pairs, tmp_path, capsys):
    from vggzoo.errors import DataError

    root, names = image_pairs
    table = root / "pairs.csv"
    table.write_text("reference,distorted\n" + "".join(f"a/{n},b/{n}\n" for n in names))
    assert [a.name for a, _ in pairs_from_csv(table)] == [n.split("/")[-1] for n in names]
    (root / "b" / names[0]).unlink()
    with pytest.raises(DataError, match="1 image\\(s\\) in .* but not in"):
        pairs_from_folders(root / "a", root / "b")
    Image.new("RGB", (32, 32)).save(root / "b" / names[0])
    assert main(["lpips", str(root / "a"), str(root / "b")]) == 2
    err = capsys.readouterr().err.strip()
    assert "is 64x64 but" in err and "resize one of them" in err and len(err.splitlines()) == 1


def test_cli_lpips_writes_the_table_and_json(image_pairs, trunk_state, ours, tmp_path, capsys):
    root, names = image_pairs
    weights = tmp_path / "vgg16-random.pth"
    torch.save(trunk_state, weights)
    out = tmp_path / "distances.json"
    assert main(["lpips", str(root / "a"), str(root / "b"), "--weights", str(weights),
                 "--json", str(out), "--no-progress"]) == 0
    printed = capsys.readouterr().out
    data = json.loads(out.read_text())
    assert data["metric"] == "lpips-vgg-0.1" and len(data["pairs"]) == len(names)
    direct = lpips_pairs(pairs_from_folders(root / "a", root / "b"), ours)
    for row, result in zip(data["pairs"], direct):
        assert row["distance"] == pytest.approx(result.distance, abs=1e-6)
        assert f"{row['distance']:.6f}" in printed
    assert main(["lpips", str(root / "a" / "0.png"), str(root / "b" / "0.png"), "--weights",
                 str(weights), "--csv", str(tmp_path / "one.csv")]) == 0
    assert (tmp_path / "one.csv").read_text().splitlines()[0] == "a,b,width,height,distance"
    capsys.readouterr()
    fast = tmp_path / "bf16.json"
    assert main(["lpips", str(root / "a"), str(root / "b"), "--weights", str(weights),
                 "--precision", "bf16", "--json", str(fast), "--no-progress"]) == 0
    assert "on torch bf16" in capsys.readouterr().out
    for row, result in zip(json.loads(fast.read_text())["pairs"], direct):
        assert row["distance"] == pytest.approx(result.distance, abs=0.01)


def test_imagenet1k_features_are_features_only_named_weights(tmp_path, monkeypatch,
                                                             fresh_plugins):
    import dataclasses

    import vggzoo
    from vggzoo.plugins.testing import TINY_WIDTH, hub_cached_weights, plugin_registered
    from vggzoo.weights.named import get_weights

    from torchvision.models import VGG16_Weights

    name, spec = get_weights("vgg16.tv_features")
    tv = VGG16_Weights.IMAGENET1K_FEATURES
    assert spec.file_name == tv.url.rsplit("/", 1)[1] and spec.url == tv.url
    assert spec.file_name.split("-")[-1].startswith(spec.sha256) and spec.features_only
    assert spec.preprocessing.mean == (0.48235, 0.45882, 0.40784)
    assert spec.preprocessing.mean_rgb_255 == pytest.approx((123.0, 117.0, 104.0), abs=0.01)

    def offline(*args, **kwargs):
        raise urllib.error.URLError("no network in this test")

    monkeypatch.setattr(torch.hub, "download_url_to_file", offline)
    with pytest.raises(WeightsError, match="features-only weights .*NaN.*num_classes=0"):
        vggzoo.create("vgg16", weights="vgg16.tv_features", num_classes=1000)
    # The same facts for a tiny file in the hub cache (offline lookup, NaN classifier).
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    model = vggzoo.create("vgg16", width_mult=TINY_WIDTH)
    for p in model.classifier.parameters():
        p.data.fill_(float("nan"))
    tiny = hub_cached_weights(model, tmp_path, "vgg16_features-tiny.pth",
                              **{k: v for k, v in dataclasses.asdict(spec).items()
                                 if k not in ("model", "file_name", "sha256", "url")}
                              | {"preprocessing": spec.preprocessing, "width_mult": TINY_WIDTH})

    class Plugin:
        @vggzoo.hookimpl
        def vggzoo_register_weights(self, register):
            register("vgg16.tiny_features", tiny)

    with plugin_registered(Plugin()):
        trunk = vggzoo.create("vgg16", weights="vgg16.tiny_features")
        assert trunk.num_classes == 0 and trunk.pretrained_cfg.preprocessing == spec.preprocessing
        assert all(torch.isfinite(p).all() for p in trunk.parameters())
        with pytest.raises(WeightsError, match="features-only"):
            vggzoo.create("vgg16", weights="vgg16.tiny_features", num_classes=10)
