"""End to end on real images: scikit-learn's handwritten digits written as an
ImageFolder by examples/make_digits.py, a narrow VGG-A trained on two CPU
cores, the accuracy the README states."""

import json
import math

import pytest

import vggzoo

#: The README's promise for the digits run (conftest.py's ``digits_run``:
#: examples/make_digits.py, "End to end on real data").
MIN_TOP1_ACCURACY = 0.90


@pytest.mark.slow
def test_narrow_vgg_a_learns_the_digits(digits_run):
    data, result = digits_run
    assert sum(1 for _ in (data / "val").rglob("*.png")) == 364
    assert 100 - result.best_top1_err >= 100 * MIN_TOP1_ACCURACY
    rows = [json.loads(line) for line in (result.run_dir / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    model = vggzoo.create("vgg11_bn", num_classes=10, width_mult=1 / 16, weights=result.weights)
    assert model.pretrained_cfg["weights"] == str(result.weights)


#: Plain VGG-A (no batch norm) with every recipe default but width and batch:
#: the run that diverged to NaN with the old default init (std 0.1).
DEFAULT_RECIPE_OPTIONS = dict(width_mult=0.125, batch_size=64, epochs=3)
#: Measured best val top-1 after 3 epochs: 74.2% (AVX-512 EPYC), 76.1% (AVX2
#: kernels, ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2); after 6 epochs
#: 87.6% and 93.1%. Chance is 10%.
MIN_DEFAULT_RECIPE_ACCURACY = 0.60


@pytest.mark.slow
def test_the_default_recipe_trains_plain_vgg_a_on_the_digits(digits_data, tmp_path):
    result = vggzoo.train("vgg11", digits_data, tmp_path / "run", workers=1, progress=False,
                          device="cpu", **DEFAULT_RECIPE_OPTIONS)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["init"] == "kaiming-input" and config["lr"] == 0.01
    assert config["augment"] == ["scale", "random-crop", "hflip", "pca-lighting"]
    assert 100 - result.best_top1_err >= 100 * MIN_DEFAULT_RECIPE_ACCURACY
    losses = [row["train_loss"] for row in result.metrics]
    assert all(math.isfinite(loss) for loss in losses) and losses[-1] < losses[0]
