"""LPIPS exported through the registered exporters (lpips-onnx, lpips-int8)
and run by `vggzoo lpips --onnx` (issue 22, item 5).  A random VGG16 in
torchvision's format; small images."""

import json

import onnx
import pytest
import torch
import torchvision
from PIL import Image, ImageFilter

import vggzoo
from vggzoo.cli import main as vggzoo_main
from vggzoo.data.samples import PHOTOS, load_photo
from vggzoo.perceptual import LPIPS, lpips_pairs, pairs_from_folders


@pytest.fixture(scope="module")
def trunk_file(tmp_path_factory):
    torch.manual_seed(5)
    path = tmp_path_factory.mktemp("w") / "vgg16-random.pth"
    torch.save(torchvision.models.vgg16(weights=None).state_dict(), path)
    return path


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    root = tmp_path_factory.mktemp("pairs")
    for name in ("a", "b", "cal"):
        (root / name).mkdir()
    for photo in PHOTOS:
        image = Image.fromarray(load_photo(photo))
        for k in range(4):
            crop = image.crop((60 * k, 40 * k, 60 * k + 96, 40 * k + 96))
            crop.save(root / "cal" / f"{photo}_{k}.png")
            if k < 2:
                crop.save(root / "a" / f"{photo}_{k}.png")
                crop.filter(ImageFilter.GaussianBlur(1 + k)).save(root / "b" / f"{photo}_{k}.png")
    return root


def test_lpips_onnx_through_vggzoo_export_matches_torch(trunk_file, folders, tmp_path, capsys):
    from vggzoo_export.cli.main import main

    out = tmp_path / "lpips.onnx"
    assert main(["vgg16", "--weights", str(trunk_file), "--format", "lpips-onnx",
                 "-o", str(out)]) == 0
    props = {p.key: p.value for p in onnx.load(str(out), load_external_data=False).metadata_props}
    assert props["vggzoo.graph"] == "lpips-vgg-0.1" and props["vggzoo.model"] == "vgg16"
    result = tmp_path / "onnx.json"
    assert vggzoo_main(["lpips", str(folders / "a"), str(folders / "b"), "--onnx", str(out),
                        "--json", str(result), "--no-progress"]) == 0
    capsys.readouterr()
    torch_lpips = LPIPS(weights=str(trunk_file), input_range="0-1")
    want = lpips_pairs(pairs_from_folders(folders / "a", folders / "b"), torch_lpips)
    got = json.loads(result.read_text())["pairs"]
    assert len(got) == len(want) == 6
    for row, ref in zip(got, want):
        assert row["distance"] == pytest.approx(ref.distance, abs=1e-5)
    # A classifier export is not an LPIPS graph: refused in one line.
    classifier = tmp_path / "vgg11.onnx"
    assert main(["vgg11", "--width-mult", "0.0625", "-o", str(classifier)]) == 0
    assert vggzoo_main(["lpips", str(folders / "a"), str(folders / "b"),
                        "--onnx", str(classifier)]) == 2
    assert "not an LPIPS export" in capsys.readouterr().err


def test_lpips_int8_is_written_with_its_distance_agreement(trunk_file, folders, tmp_path):
    from vggzoo_export.perceptual.int8 import export_lpips_int8
    from vggzoo_export.perceptual.runner import onnx_distance

    model = vggzoo.create("vgg16", weights=str(trunk_file), num_classes=0)
    out = tmp_path / "lpips.int8.onnx"
    report = export_lpips_int8(model, out, calibrate=str(folders / "cal"), side=64,
                               calibration_images=4, agreement_images=8)
    assert report.files == [out] and not (tmp_path / "fp32.onnx").exists()
    props = {p.key: p.value for p in onnx.load(str(out), load_external_data=False).metadata_props}
    agreement = json.loads(props["vggzoo.lpips_agreement"])
    assert agreement["pairs"] == 24 and agreement["max |Δ|"] <= 0.01
    assert agreement["Spearman"] >= 0.99 and "Spearman" in report.notes[0]
    ops = {n.op_type for n in onnx.load(str(out)).graph.node}
    assert "QuantizeLinear" in ops and "DequantizeLinear" in ops
    x = torch.rand(2, 3, 64, 64)
    y = (x + 0.1 * torch.randn_like(x)).clamp(0, 1)
    with torch.no_grad():
        exact = LPIPS(model, input_range="0-1")(x, y)
    assert (onnx_distance(out)(x, y) - exact).abs().max() <= 0.02
    with pytest.raises(Exception, match="disagrees with fp32"):
        export_lpips_int8(model, tmp_path / "never.onnx", calibrate=str(folders / "cal"),
                          side=64, calibration_images=4, agreement_images=8, max_abs_diff=0.0)
    assert not (tmp_path / "never.onnx").exists()
