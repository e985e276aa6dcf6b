"""Images and names as users have them, with real files made here: a
portrait phone JPEG (EXIF orientation) is read upright by every reader; a
PNG whose header claims a huge size is refused by header and listed as
skipped in predict, eval, training, statistics and calibration; the bound
is configurable; non-UTF-8 file names keep their results; GIFs follow one
rule in folders and on the command line; class folders that are not the
model's classes are an error."""

import csv
import io
import json
import os
import struct
import zlib

import numpy as np
import pytest
import torch
from PIL import Image

import vggzoo
from vggzoo.cli import main
from vggzoo.data.folder import SkippingImageFolder
from vggzoo.data.images import (MAX_PIXELS_ENV, ImageTooLargeError, header_size, load_image,
                                read_image)
from vggzoo.errors import OptionError, VggzooError
from vggzoo.plugins.testing import TINY_WIDTH

#: EXIF tag 0x0112; 6 = "rotate 90 degrees clockwise to display" (a phone held upright).
ORIENTATION, ROTATE_CW = 0x0112, 6


def portrait_jpeg(path):
    """A 40x64 (h x w) JPEG stored sideways: red top half, blue bottom half,
    tagged to be shown turned 90 degrees clockwise (64 high, 40 wide, red
    on the right)."""
    pixels = np.zeros((40, 64, 3), np.uint8)
    pixels[:20] = (230, 20, 20)
    pixels[20:] = (20, 20, 230)
    exif = Image.Exif()
    exif[ORIENTATION] = ROTATE_CW
    Image.fromarray(pixels).save(path, quality=95, exif=exif)
    return path


def png_header(path, width, height):
    """A PNG whose IHDR claims ``width`` x ``height`` RGB pixels (valid
    signature and CRCs) but holds a few bytes of data: a decompression bomb
    as far as the header is concerned."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data
                + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
                     + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))
    return path


def photo(path, colour=(40, 160, 90), size=(240, 230)):
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, colour).save(path)
    return path


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """Tiny 3-class vgg11 weights naming their classes a, b, c."""
    torch.manual_seed(0)
    model = vggzoo.create("vgg11", num_classes=3, width_mult=TINY_WIDTH)
    path = tmp_path_factory.mktemp("w") / "abc.safetensors"
    return vggzoo.save_weights(model, path, metadata={
        "model": "vgg11", "width_mult": str(TINY_WIDTH), "num_classes": "3",
        "train_scale": "224", "classes": json.dumps(["a", "b", "c"])})


def test_a_portrait_jpeg_is_read_upright(tmp_path):
    path = portrait_jpeg(tmp_path / "phone.jpg")
    image = read_image(path)
    assert tuple(image.shape) == (3, 64, 40)
    assert header_size(path) == (64, 40)  # what predict sorts and estimates by
    right, left = image[:, :, 30:].float().mean((1, 2)), image[:, :, :10].float().mean((1, 2))
    assert right[0] > 200 > 50 > right[2] and left[2] > 200 > 50 > left[0]
    # Training's loader (and statistics, which read through it) sees it upright too.
    (tmp_path / "train" / "x").mkdir(parents=True)
    os.replace(path, tmp_path / "train" / "x" / "phone.jpg")
    loaded, _ = SkippingImageFolder(tmp_path / "train", transform=None)[0]
    assert loaded.size == (40, 64)


def test_predict_classifies_a_portrait_jpeg_like_its_upright_copy(tmp_path, weights, capsys):
    phone = portrait_jpeg(tmp_path / "phone.jpg")
    upright = tmp_path / "upright.png"
    with Image.open(phone) as raw:  # the stored pixels, turned by hand
        Image.fromarray(np.rot90(np.asarray(raw.convert("RGB")), k=-1)).save(upright)
    out = tmp_path / "p.json"
    assert main(["predict", str(phone), str(upright), "--weights", str(weights),
                 "--json", str(out), "--no-progress"]) == 0
    first, second = json.loads(out.read_text())["predictions"]
    assert first["size"] == second["size"] == [64, 40]
    assert [t["index"] for t in first["top"]] == [t["index"] for t in second["top"]]
    assert [t["probability"] for t in first["top"]] == pytest.approx(
        [t["probability"] for t in second["top"]], abs=1e-6)
    assert "phone.jpg(64x40)" in "".join(capsys.readouterr().out.split())  # titles wrap


def test_a_header_over_the_bound_is_refused_before_decoding(tmp_path, monkeypatch):
    bomb = png_header(tmp_path / "bomb.png", 100_000, 100_000)
    with pytest.raises(ImageTooLargeError, match="10000000000 pixels"):
        read_image(bomb)
    with pytest.raises(ImageTooLargeError, match="10000000000 pixels"):
        header_size(bomb)
    # Below Pillow's own bound, vggzoo's bound (configurable) decides.
    medium = png_header(tmp_path / "medium.png", 2000, 2000)
    monkeypatch.setenv(MAX_PIXELS_ENV, "1000000")
    with pytest.raises(ImageTooLargeError, match=r"2000x2000 pixels \(4\.0 megapixels\), over "
                                                 r"the bound of 1\.0 megapixels"):
        load_image(medium)
    with pytest.raises(OSError):  # a larger bound passes the header; its data is missing
        load_image(medium, max_pixels=5_000_000)
    monkeypatch.setenv(MAX_PIXELS_ENV, "500")
    with pytest.raises(ImageTooLargeError):
        read_image(photo(tmp_path / "small.png", size=(28, 20)))
    monkeypatch.setenv(MAX_PIXELS_ENV, "many")
    with pytest.raises(OptionError, match="VGGZOO_MAX_IMAGE_PIXELS='many'"):
        read_image(tmp_path / "small.png")


def test_a_bomb_is_listed_as_skipped_by_predict_eval_training_stats_and_calibration(
        tmp_path, weights, capsys):
    from vggzoo.data.stats import compute_stats
    from vggzoo_export.onnx.int8 import split_images

    for split in ("train", "val"):
        for name in ("a", "b", "c"):
            photo(tmp_path / split / name / "ok.png", (90 * "abc".index(name), 100, 50))
        png_header(tmp_path / split / "a" / "bomb.png", 100_000, 100_000)
    bomb = str(tmp_path / "val" / "a" / "bomb.png")

    assert main(["predict", str(tmp_path / "val"), "--weights", str(weights),
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "skipped 1 file(s):" in out and f"{bomb}: ImageTooLargeError" in out
    assert main(["eval", "--weights", str(weights), "--data", str(tmp_path),
                 "--no-progress"]) == 0
    out = capsys.readouterr().out
    assert "skipped 1 unreadable image(s):" in out and f"{bomb}: ImageTooLargeError" in out

    dataset = SkippingImageFolder(tmp_path / "train", transform=None)
    bombs = [i for i, (p, _) in enumerate(dataset.samples) if p.endswith("bomb.png")]
    assert len(bombs) == 1 and dataset[bombs[0]] is None
    assert compute_stats(tmp_path).images == 3

    split = split_images(tmp_path, 1, 5)
    assert [p for p, _ in split.skipped] == [str(tmp_path / "train" / "a" / "bomb.png"), bomb]
    assert all("ImageTooLargeError" in reason for _, reason in split.skipped)
    assert len(split.calibration + split.held_out) == 6


def test_non_utf8_file_names_keep_their_results(tmp_path, weights, capsys):
    name = b"caf\xe9.png"  # Latin-1, not UTF-8
    folder = tmp_path / "photos"
    folder.mkdir()
    try:
        photo(folder / os.fsdecode(name))
    except (OSError, UnicodeError):
        pytest.skip("this file system refuses names that are not UTF-8")
    (folder / os.fsdecode(b"bro\xefken.png")).write_bytes(b"not a png")
    out_csv, out_json = tmp_path / "p.csv", tmp_path / "p.json"
    assert main(["predict", str(folder), "--weights", str(weights), "--csv", str(out_csv),
                 "--no-progress"]) == 0
    printed = "".join(capsys.readouterr().out.split())  # table titles wrap
    assert "caf\\xe9.png(230x240)" in printed and "bro\\xefken.png:" in printed
    raw = out_csv.read_bytes()
    assert os.fsencode(folder) + b"/" + name in raw
    rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8", "surrogateescape"))))
    assert len(rows) == 3 and {os.fsencode(r["path"]) for r in rows} == {
        os.fsencode(folder) + b"/" + name}
    assert main(["predict", str(folder), "--weights", str(weights), "--json", str(out_json),
                 "--no-progress"]) == 0
    result = json.loads(out_json.read_text())
    assert [os.fsencode(p["path"]) for p in result["predictions"]] == [
        os.fsencode(folder) + b"/" + name]
    assert os.path.exists(result["predictions"][0]["path"])  # names the file on disk


def test_one_extension_rule_for_gifs_in_folders_and_on_the_command_line(tmp_path, weights):
    folder = tmp_path / "mixed"
    folder.mkdir()
    photo(folder / "ok.png")
    Image.new("RGB", (240, 230), (10, 10, 10)).save(folder / "anim.gif")
    walked = vggzoo.predict([folder], weights=weights)
    named = vggzoo.predict([folder / "ok.png", folder / "anim.gif"], weights=weights)
    globbed = vggzoo.predict([str(folder / "*")], weights=weights)
    for result in (walked, named, globbed):
        assert [p.path for p in result.predictions] == [str(folder / "ok.png")]
        assert [(s.path, s.reason.split(" (")[0]) for s in result.skipped] == [
            (str(folder / "anim.gif"), "not an image file by its extension")]


def test_calibration_skips_unreadable_images_like_predict_and_eval(tmp_path):
    from vggzoo_export.onnx.int8 import export_int8

    for i in range(6):
        photo(tmp_path / "cal" / f"{i}.png", (40 * i, 200 - 30 * i, 90))
    (tmp_path / "cal" / "garbage.png").write_bytes(b"\x89PNG\r\n\x1a\n not a png")
    good = (tmp_path / "cal" / "0.png").read_bytes()
    (tmp_path / "cal" / "truncated.png").write_bytes(good[:len(good) // 2])  # header intact
    torch.manual_seed(0)
    model = vggzoo.create("vgg11", num_classes=3, width_mult=TINY_WIDTH)
    report = export_int8(model, tmp_path / "m.int8.onnx", calibrate=tmp_path / "cal",
                         calibration_images=2, agreement_images=8, min_agreement=0.0)
    assert report.path.is_file()
    skipped = [n for n in report.notes if n.startswith("skipped")]
    assert len(skipped) == 1 and "garbage.png" in skipped[0] and "truncated.png" in skipped[0]


def test_class_folders_that_are_not_the_models_classes_are_an_error(tmp_path, weights, capsys):
    for name in ("cat", "cup", "person"):
        photo(tmp_path / "other" / name / "x.png")
    with pytest.raises(VggzooError, match=r"label 0 is folder 'cat' but the weights' class 'a'"):
        vggzoo.evaluate(weights=weights, data=tmp_path / "other")
    assert main(["eval", "--weights", str(weights), "--data", str(tmp_path / "other"),
                 "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "not the classes of" in err
    for name in ("a", "b"):  # fewer folders than classes: every label would shift
        photo(tmp_path / "two" / name / "x.png")
    with pytest.raises(VggzooError, match="2 class folders but vgg11 predicts 3 classes"):
        vggzoo.evaluate(weights=weights, data=tmp_path / "two")
    for name in ("a", "b", "c"):  # the weights' own classes evaluate
        photo(tmp_path / "abc" / name / "x.png")
    assert vggzoo.evaluate(weights=weights, data=tmp_path / "abc").images == 3
