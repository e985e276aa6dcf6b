"""Data the way users have it: link loops, hidden folders, 16-bit and other
Pillow modes, read the same way by training, `vggzoo data stats` and
evaluation."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from vggzoo.cli import main
from vggzoo.data.folder import SkippingImageFolder, check_layout
from vggzoo.data.images import load_image, read_image
from vggzoo.errors import DataError
from vggzoo.eval import find_images


def _vggzoo(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "vggzoo", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200"}, timeout=timeout)


# -- symbolic links ------------------------------------------------------------

def _add_link_loops(root):
    """train/class0/loop -> .. (the split), val/class1/up -> ../.. (the data
    root), a link to its own class folder and a link to a file of the class."""
    (root / "train" / "class0" / "loop").symlink_to("..")
    (root / "train" / "class0" / "self").symlink_to(".")
    (root / "val" / "class1" / "up").symlink_to("../..")
    (root / "train" / "class1" / "again.png").symlink_to("0.png")


def test_link_loops_neither_hang_nor_repeat_images_in_training_data(image_folder):
    _add_link_loops(image_folder)
    assert check_layout(image_folder) == ["class0", "class1"]
    train = SkippingImageFolder(image_folder / "train", transform=None)
    paths = [os.path.realpath(p) for p, _ in train.samples]
    assert len(paths) == 8 and len(set(paths)) == 8  # 4 per class, each once
    assert [label for _, label in train.samples] == [0] * 4 + [1] * 4
    assert len(find_images(image_folder)) == 4  # val: 2 per class


def test_links_to_files_and_folders_outside_are_followed(image_folder, tmp_path):
    pool = tmp_path / "pool"
    pool.mkdir()
    Image.new("RGB", (20, 20), (200, 10, 10)).save(pool / "linked.png")
    (pool / "sub").mkdir()
    Image.new("RGB", (20, 20), (10, 200, 10)).save(pool / "sub" / "deep.png")
    (image_folder / "train" / "class0" / "file.png").symlink_to(pool / "linked.png")
    (image_folder / "train" / "class0" / "folder").symlink_to(pool / "sub")
    train = SkippingImageFolder(image_folder / "train", transform=None)
    names = [os.path.basename(p) for p, label in train.samples if label == 0]
    assert sorted(names) == ["0.png", "1.png", "2.png", "3.png", "deep.png", "file.png"]


def test_one_file_in_two_classes_is_an_error(image_folder):
    (image_folder / "train" / "class1" / "stolen.png").symlink_to("../class0/0.png")
    with pytest.raises(DataError, match="same file in classes 'class0' and 'class1'"):
        SkippingImageFolder(image_folder / "train", transform=None)


def test_data_stats_cli_finishes_on_a_link_loop_and_counts_each_image_once(image_folder):
    _add_link_loops(image_folder)
    result = _vggzoo("data", "stats", str(image_folder), timeout=120)
    assert result.returncode == 0, result.stderr
    assert json.loads((image_folder / "stats.json").read_text())["images"] == 8


def test_training_cli_finishes_on_a_link_loop(image_folder, tmp_path):
    _add_link_loops(image_folder)
    result = _vggzoo("train", "--model", "vgg11", "--data", str(image_folder), "--out",
                     str(tmp_path / "run"), "--width-mult", "0.0625", "--batch-size", "4",
                     "--scale", "224", "--epochs", "1", "--max-steps", "1", "--no-progress",
                     timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "8 train / 4 val images" in result.stdout + result.stderr


# -- one class listing ---------------------------------------------------------

def test_training_and_evaluation_list_the_same_classes(image_folder):
    for split in ("train", "val"):
        hidden = image_folder / split / ".ipynb_checkpoints"
        hidden.mkdir()
        Image.new("RGB", (20, 28)).save(hidden / "x.png")
    (image_folder / "val" / "class0" / ".hidden_sub").mkdir()  # sub-folders still hold images
    Image.new("RGB", (20, 28)).save(image_folder / "val" / "class0" / ".hidden_sub" / "y.png")
    assert check_layout(image_folder) == ["class0", "class1"]
    train = SkippingImageFolder(image_folder / "train", transform=None)
    val = SkippingImageFolder(image_folder / "val", transform=None)
    evaluation = find_images(image_folder)
    assert train.classes == val.classes == evaluation.classes == ["class0", "class1"]
    assert [(str(i.path), i.label) for i in evaluation.items] == val.samples


# -- every Pillow mode ---------------------------------------------------------

GREY = np.array([[0, 17, 128], [200, 254, 255]], dtype=np.uint8)


def _expect(value, shape=GREY.shape):
    return np.broadcast_to(np.asarray(value, dtype=np.uint8), (*shape, 3))


def _cases(tmp_path):
    """(file, expected 8-bit RGB pixels) with expectations written from the
    8-bit values each file was made from."""
    cases = []

    def save(name, image, expected, **kw):
        path = tmp_path / name
        image.save(path, **kw)
        cases.append((path, expected))

    rgb = np.stack([GREY, 255 - GREY, GREY // 2], axis=-1)
    save("i16.png", Image.fromarray(GREY.astype(np.uint16) * 257), _expect(GREY[..., None]))
    big_endian = (GREY.astype(">u2") * 257).tobytes()
    save("i16b.tif", Image.frombytes("I;16B", GREY.shape[::-1], big_endian),
         _expect(GREY[..., None]))
    save("i32.tif", Image.fromarray(GREY.astype(np.int32) * 257, "I"), _expect(GREY[..., None]))
    save("f01.tif", Image.fromarray(GREY.astype(np.float32) / 255, "F"), _expect(GREY[..., None]))
    save("f255.tif", Image.fromarray(GREY.astype(np.float32), "F"), _expect(GREY[..., None]))
    cmyk = np.zeros((*GREY.shape, 4), np.uint8)
    cmyk[..., 3] = 255 - GREY
    save("cmyk.tif", Image.fromarray(cmyk, "CMYK"), _expect(GREY[..., None]))
    save("l.png", Image.fromarray(GREY, "L"), _expect(GREY[..., None]))
    save("one.png", Image.fromarray(GREY >= 128), _expect(np.where(GREY >= 128, 255, 0)[..., None]))
    save("rgb.jpg.png", Image.fromarray(rgb), rgb)
    alpha = np.array([[255, 255, 255], [0, 0, 0]], dtype=np.uint8)  # bottom row transparent
    rgba = np.concatenate([rgb, alpha[..., None]], axis=-1)
    over_white = np.where(alpha[..., None] == 255, rgb, 255).astype(np.uint8)
    save("rgba.png", Image.fromarray(rgba, "RGBA"), over_white)
    la = np.stack([GREY, alpha], axis=-1)
    save("la.png", Image.fromarray(la, "LA"),
         _expect(np.where(alpha == 255, GREY, 255)[..., None]))
    palette = Image.fromarray(GREY, "L").convert("P")
    save("p_transparent.png", palette, _expect(np.where(GREY == 17, 255, GREY)[..., None]),
         transparency=int(np.asarray(palette)[0, 1]))
    return cases


def test_every_pillow_mode_becomes_8bit_rgb_with_its_brightness(tmp_path):
    for path, expected in _cases(tmp_path):
        image = load_image(path)
        assert image.mode == "RGB", path.name
        np.testing.assert_array_equal(np.asarray(image), expected, err_msg=path.name)
        np.testing.assert_array_equal(read_image(path).permute(1, 2, 0).numpy(), expected,
                                      err_msg=path.name)


def test_a_16bit_png_is_not_white_in_data_stats_training_and_evaluation(tmp_path):
    root = tmp_path / "data"
    level = 0x4000  # a quarter of 16 bits: 64 in 8 bits
    for split in ("train", "val"):
        for c in ("a", "b"):
            (root / split / c).mkdir(parents=True)
            for i in range(2):
                Image.fromarray(np.full((30, 30), level + 257 * i, np.uint16)).save(
                    root / split / c / f"{i}.png")
    assert main(["data", "stats", str(root)]) == 0
    stats = json.loads((root / "stats.json").read_text())
    assert stats["mean_rgb_255"] == pytest.approx([64.5] * 3, abs=0.01)
    train = SkippingImageFolder(root / "train", transform=None)
    assert np.asarray(train[0][0]).max() == 64
    evaluation = find_images(root)
    assert {int(read_image(i.path).max()) for i in evaluation.items} == {64, 65}


def test_image_extensions_are_torchvisions():
    """vggzoo reads the files torchvision's ImageFolder reads (the list is
    written out so that start-up does not import torchvision)."""
    from torchvision.datasets.folder import IMG_EXTENSIONS

    from vggzoo.data.images import IMAGE_EXTENSIONS

    assert IMAGE_EXTENSIONS == IMG_EXTENSIONS
