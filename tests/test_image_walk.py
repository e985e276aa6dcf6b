"""One walk of an image folder for every command: prediction and int8
calibration find the same images as training and evaluation (links
followed, each folder entered once, each file counted once)."""

import os

import numpy as np
from PIL import Image

from vggzoo.eval.inference import find_inputs


def _folder(root):
    rng = np.random.default_rng(0)
    (root / "sub").mkdir(parents=True)
    (root / ".cache").mkdir()
    names = ["a.png", "b.PNG", "c.jpg", "sub/d.png", "sub/e.png"]
    for name in [*names, ".cache/hidden.png"]:
        Image.fromarray(rng.integers(0, 255, (8, 8, 3), dtype=np.uint8)).save(
            root / name, format="JPEG" if name.endswith(".jpg") else "PNG")
    (root / "notes.txt").write_text("not an image")
    os.symlink(root / "a.png", root / "same-as-a.png")  # one file, two names
    os.symlink(root / "sub", root / "alias")            # one folder, two names
    return root, sorted((root / n).resolve() for n in names)


def test_predict_counts_each_image_once_through_links(tmp_path):
    root, images = _folder(tmp_path / "photos")
    found, skipped = find_inputs([root])
    assert sorted(p.resolve() for p in found) == images  # each once, under one of its names
    assert [s.path for s in skipped] == [str(root / "notes.txt")]


def test_int8_calibration_walks_the_folder_the_same_way(tmp_path):
    from vggzoo_export.onnx.int8 import split_images

    root, images = _folder(tmp_path / "calib")
    split = split_images(root, 1, 4)
    assert sorted(p.resolve() for p in split.calibration + split.held_out) == images
