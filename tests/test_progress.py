"""Long work reports progress through the callback its caller passes
(vggzoo.progress): counts that add up, for training, evaluation and dataset
statistics, and nothing drawn by the library itself."""

import math

import pytest

import vggzoo
from vggzoo.data.stats import compute_stats
from vggzoo.plugins.testing import TINY_WIDTH, write_image_folder

#: write_image_folder's defaults: 2 classes x 4 training and 2 validation images.
TRAIN_IMAGES, VAL_IMAGES, BATCH = 8, 4, 4


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A 2-epoch run with an ``on_progress`` recorder; (data, result, calls)."""
    root = tmp_path_factory.mktemp("progress")
    data = write_image_folder(root / "data")
    calls = []
    result = vggzoo.train("vgg11", data, root / "run", width_mult=TINY_WIDTH, crop=224,
                          scale="224", workers=0, device="cpu", epochs=2, batch_size=BATCH,
                          init="glorot",
                          on_progress=lambda done, total, **info: calls.append((done, total, info)))
    return data, result, calls


def test_training_reports_each_optimizer_step_of_each_epoch(trained):
    _, result, calls = trained
    steps = TRAIN_IMAGES // BATCH
    assert result.epochs == 2 and result.steps == 2 * steps
    assert [(done, total, info["epoch"]) for done, total, info in calls] == [
        (done, steps, epoch) for epoch in (1, 2) for done in range(steps + 1)]
    for done, _, info in calls:
        assert set(info) == {"epoch", "loss", "lr", "images_per_s"}
        assert info["lr"] > 0
        if done == 0:  # an epoch's start: no loss or speed measured yet
            assert info["loss"] is None and info["images_per_s"] == 0  # never a NaN placeholder
        else:
            assert math.isfinite(info["loss"]) and info["loss"] > 0
            assert info["images_per_s"] > 0


def test_training_with_progress_off_reports_nothing(tmp_path):
    data = write_image_folder(tmp_path / "data")
    calls = []
    vggzoo.train("vgg11", data, tmp_path / "run", width_mult=TINY_WIDTH, crop=224, scale="224",
                 workers=0, device="cpu", epochs=1, batch_size=BATCH, init="glorot",
                 max_steps=1, progress=False, on_progress=lambda *a, **k: calls.append(a))
    assert calls == []


def test_evaluation_counts_every_image_read_or_skipped(trained):
    data, result, _ = trained
    (data / "val" / "class0" / "broken.png").write_bytes(b"not a png")
    calls = []
    evaluated = vggzoo.evaluate(weights=result.weights, data=data, scales=[224],
                                progress=lambda done, total, **info: calls.append((done, total)))
    total = VAL_IMAGES + 1
    assert evaluated.images == VAL_IMAGES and len(evaluated.skipped) == 1
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert {t for _, t in calls} == {total}
    done = [d for d, _ in calls]
    assert done == sorted(done)


def test_statistics_report_each_image(tmp_path):
    data = write_image_folder(tmp_path / "data")
    calls = []
    stats = compute_stats(data, progress=lambda done, total, **info: calls.append((done, total)))
    assert stats.images == TRAIN_IMAGES
    assert calls == [(done, TRAIN_IMAGES) for done in range(TRAIN_IMAGES + 1)]


def test_asking_the_library_for_a_bar_is_refused(tmp_path):
    data = write_image_folder(tmp_path / "data")
    with pytest.raises(TypeError, match="ProgressBar"):
        compute_stats(data, progress=True)


def _vggzoo(*args, cwd):
    """The installed ``vggzoo`` script with rich forced to draw (as on a terminal)."""
    import os
    import subprocess
    import sys

    env = {**os.environ, "FORCE_COLOR": "1", "COLUMNS": "150"}
    script = os.path.join(os.path.dirname(sys.executable), "vggzoo")
    return subprocess.run([script, *map(str, args)], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=600)


def test_the_train_command_draws_a_bar_per_epoch_from_the_callback(tmp_path):
    import re

    data = write_image_folder(tmp_path / "data")
    common = ["train", "--model", "vgg11", "--data", data, "--width-mult", TINY_WIDTH,
              "--scale", "224", "--epochs", "2", "--batch-size", BATCH, "--workers", "0",
              "--device", "cpu", "--init", "glorot"]
    shown = _vggzoo(*common, "--out", tmp_path / "a", cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    plain = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.stdout)
    steps = TRAIN_IMAGES // BATCH
    for epoch in (1, 2):
        assert re.search(rf"epoch {epoch} .*{steps}/{steps} loss \d+\.\d{{4}}  lr 0\.01  "
                         rf"\d+\.\d img/s", plain), plain
    quiet = _vggzoo(*common, "--out", tmp_path / "b", "--no-progress", cwd=tmp_path)
    assert quiet.returncode == 0, quiet.stderr
    assert "img/s" not in quiet.stdout and "vggzoo train" in quiet.stdout
