"""Data layout checks, unreadable images, and `vggzoo data stats`."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from vggzoo.cli import main
from vggzoo.data.folder import SkippingImageFolder, check_layout, collate_skipping
from vggzoo.data.stats import compute_stats, stats_for
from vggzoo.errors import DataError


def test_layout_gives_the_class_names(image_folder):
    assert check_layout(image_folder) == ["class0", "class1"]


def test_missing_directory_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="does not exist; pass --data DIR"):
        check_layout(tmp_path / "nope")


def test_missing_val_split_is_a_clear_error(image_folder):
    import shutil

    shutil.rmtree(image_folder / "val")
    with pytest.raises(DataError, match="val does not exist.*train/ and val/"):
        check_layout(image_folder)


def test_empty_class_is_a_clear_error(image_folder):
    (image_folder / "train" / "class2").mkdir()
    (image_folder / "train" / "class2" / "notes.txt").write_text("no images")
    with pytest.raises(DataError, match="class2 .* hold no images"):
        check_layout(image_folder)


def test_train_and_val_classes_must_match(image_folder):
    (image_folder / "val" / "class1").rename(image_folder / "val" / "other")
    with pytest.raises(DataError, match="only in train: \\['class1'\\], only in val: \\['other'\\]"):
        check_layout(image_folder)


def test_class_count_must_match_the_model(image_folder):
    with pytest.raises(DataError, match="model has 10 classes but .* has 2 class folders"):
        check_layout(image_folder, num_classes=10)


def test_corrupt_image_is_skipped_and_counted(image_folder, caplog):
    bad = image_folder / "train" / "class0" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n not really a png")
    dataset = SkippingImageFolder(image_folder / "train", transform=lambda im: torch.zeros(1))
    index = [i for i, (path, _) in enumerate(dataset.samples) if path.endswith("broken.png")][0]
    with caplog.at_level("WARNING", logger="vggzoo.data"):
        items = [dataset[i] for i in range(len(dataset))]
    assert items[index] is None and "broken.png" in caplog.text
    images, targets, skipped = collate_skipping(items)
    assert skipped == 1 and len(targets) == len(dataset) - 1


def test_batch_of_only_unreadable_images_is_empty():
    images, targets, skipped = collate_skipping([None, None])
    assert skipped == 2 and len(targets) == 0 and images.shape[0] == 0


def test_stats_are_mean_and_pca_of_the_training_pixels(tmp_path):
    rng = np.random.default_rng(1)
    arrays = []
    for split in ("train", "val"):
        for c in range(2):
            (tmp_path / split / f"c{c}").mkdir(parents=True)
            for i in range(2):
                pixels = rng.integers(0, 256, size=(6 + i, 5, 3), dtype=np.uint8)
                Image.fromarray(pixels).save(tmp_path / split / f"c{c}" / f"{i}.png")
                if split == "train":
                    arrays.append(pixels.reshape(-1, 3) / 255.0)
    stats = compute_stats(tmp_path, progress=False)
    pixels = np.concatenate(arrays)
    assert np.allclose(stats.mean, pixels.mean(0))
    cov = np.cov(pixels.T, bias=True)
    eigval = np.array(stats.pca.eigval)
    eigvec = np.array(stats.pca.eigvec)
    assert np.all(np.diff(eigval) <= 0)  # largest first
    assert np.allclose(cov @ eigvec, eigvec * eigval, atol=1e-9)
    assert stats.images == 4 and stats.pixels == len(pixels)


def test_data_stats_command_writes_the_file_training_uses(image_folder, capsys):
    assert main(["data", "stats", str(image_folder)]) == 0
    assert "mean RGB" in capsys.readouterr().out
    written = json.loads((image_folder / "stats.json").read_text())
    stats, source = stats_for(image_folder)
    assert source.endswith("stats.json") and list(stats.mean) == written["mean"]
    assert stats.preprocessing.mean_rgb_255 == pytest.approx(written["mean_rgb_255"], abs=1e-3)


def test_without_stats_training_uses_imagenet_values(image_folder):
    stats, source = stats_for(image_folder)
    assert "ImageNet" in source and stats.pca.eigval[0] == 0.2175


def test_missing_stats_file_is_a_clear_error(image_folder):
    with pytest.raises(DataError, match="vggzoo data stats"):
        stats_for(image_folder, image_folder / "missing.json")
