"""The Cutout augmentation plugin."""

import json

import torch

import vggzoo_cutout.plugin as cutout_plugin
from vggzoo.cli import main
from vggzoo.plugins.registry import AUGMENTATIONS
from vggzoo.plugins.testing import TINY_WIDTH, write_image_folder
from vggzoo_cutout.plugin import Cutout


def _erased_box(image):
    rows, cols = torch.nonzero((image == 0).all(dim=0), as_tuple=True)
    if rows.numel() == 0:
        return None
    h, w = int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)
    assert rows.numel() == h * w, "the erased pixels form one rectangle"
    return int(rows.min()), int(cols.min()), h, w


def test_erases_one_square_clipped_at_the_border():
    torch.manual_seed(0)
    transform = Cutout(size=112)
    boxes = [_erased_box(transform(torch.ones(3, 224, 224))) for _ in range(300)]
    assert all(b is not None for b in boxes)
    assert all(h <= 112 and w <= 112 for _, _, h, w in boxes)
    assert any(h == w == 112 for _, _, h, w in boxes)             # fully inside
    assert any(h < 112 or w < 112 for _, _, h, w in boxes)        # hanging over an edge
    assert {t == 0 for t, _, _, _ in boxes} == {True, False}       # anywhere, corners too


def test_probability_zero_keeps_the_image_and_uint8_works():
    image = torch.full((3, 64, 64), 200, dtype=torch.uint8)
    assert torch.equal(Cutout(size=16, p=0.0)(image), image)
    erased = Cutout(size=16)(image)
    assert erased.dtype == torch.uint8 and (erased == 0).sum() > 0


def test_vggzoo_train_augment_cutout(vggzoo_register, tmp_path):
    vggzoo_register(cutout_plugin)
    assert AUGMENTATIONS.get("cutout").obj(crop=224).size == 112
    data = write_image_folder(tmp_path / "data")
    out = tmp_path / "run"
    code = main(["train", "--model", "vgg11", "--data", str(data), "--out", str(out),
                 "--epochs", "1", "--batch-size", "4", "--width-mult", str(TINY_WIDTH / 2),
                 "--scale", "224", "--init", "glorot", "--device", "cpu", "--workers", "0",
                 "--no-progress", "--augment", "scale", "random-crop", "hflip", "cutout"])
    assert code == 0
    config = json.loads((out / "config.json").read_text())
    assert config["augment"][-1] == "cutout"
    assert (out / "model.safetensors").is_file()
