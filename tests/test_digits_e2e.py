"""End to end on real images: scikit-learn's handwritten digits written as an
ImageFolder by examples/make_digits.py, a narrow VGG-A trained on two CPU
cores, the accuracy the README states."""

import importlib.util
import json
from pathlib import Path

import pytest

import vggzoo

REPO = Path(__file__).resolve().parents[1]
#: The README's promise for this run.
MIN_TOP1_ACCURACY = 0.90
#: The run the README documents (examples/make_digits.py, "End to end on real data").
DIGITS_OPTIONS = dict(width_mult=1 / 16, init="glorot", batch_size=16, scale="224",
                      augment=["scale", "random-crop", "pca-lighting"], epochs=3,
                      channels_last=True)


def _make_digits():
    spec = importlib.util.spec_from_file_location("make_digits", REPO / "examples" / "make_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_digits


@pytest.mark.slow
def test_narrow_vgg_a_learns_the_digits(tmp_path):
    data = _make_digits()(tmp_path / "digits")
    assert sum(1 for _ in (data / "val").rglob("*.png")) == 364
    result = vggzoo.train("vgg11_bn", data, tmp_path / "run", workers=1, progress=False,
                          device="cpu", **DIGITS_OPTIONS)
    assert 100 - result.best_top1_err >= 100 * MIN_TOP1_ACCURACY
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert rows[-1]["train_loss"] < rows[0]["train_loss"]
    model = vggzoo.create("vgg11_bn", num_classes=10, width_mult=1 / 16, weights=result.weights)
    assert model.pretrained_cfg["weights"] == str(result.weights)
