"""A run is usable at every epoch and nothing is destroyed before the new
work is known valid: --overwrite reads every input first, --max-steps stops
resume mid-epoch, a run stopped before its first checkpoint restarts with
--resume, the best weights exist from the first best epoch on, and SIGTERM
ends a real `vggzoo train` like Ctrl-C (real files, real processes)."""

import fcntl
import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import vggzoo
from vggzoo.cli import main
from vggzoo.errors import ConfigError

REPO = Path(__file__).resolve().parents[1]
W = 1 / 32
#: 4 training images in batches of 2: two optimizer steps per epoch.
API = dict(width_mult=W, scale="224", batch_size=2, init="glorot", workers=0, progress=False,
           device="cpu", deterministic=True, seed=3)
CLI = ["--model", "vgg11", "--width-mult", str(W), "--scale", "224", "--batch-size", "2",
       "--init", "glorot", "--workers", "0", "--no-progress", "--device", "cpu",
       "--deterministic", "--seed", "3"]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
       "OMP_NUM_THREADS": "1"}


def _digests(run):
    return {p.relative_to(run): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(run.rglob("*")) if p.is_file() and p.name != ".vggzoo.lock"}


def _same_weights(a, b):
    a, b = load_file(str(a)), load_file(str(b))
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def _rows(run):
    drop = ("time_s", "images_per_s")
    return [{k: v for k, v in json.loads(line).items() if k not in drop}
            for line in (run / "metrics.jsonl").read_text().splitlines()]


class Stop(Exception):
    """Raised by a callback: the run is interrupted where the test says."""


def _stop_at(step):
    def callback(trainer):
        if trainer.step == step:
            raise Stop
    return callback


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from vggzoo.plugins.testing import write_image_folder

    return write_image_folder(tmp_path_factory.mktemp("lifecycle") / "data", train_per_class=2,
                              val_per_class=1)


@pytest.fixture(scope="module")
def whole(data, tmp_path_factory):
    """An uninterrupted two-epoch run: what every interrupted one must equal."""
    out = tmp_path_factory.mktemp("whole") / "run"
    vggzoo.train("vgg11", data, out, epochs=2, **API)
    return out


@pytest.fixture(scope="module")
def stopped(data, tmp_path_factory):
    """The same run stopped by --max-steps 3: one step into epoch 2."""
    out = tmp_path_factory.mktemp("stopped") / "run"
    result = vggzoo.train("vgg11", data, out, epochs=2, max_steps=3, **API)
    return out, result


def _copy(run, tmp_path):
    import shutil

    return Path(shutil.copytree(run, tmp_path / "run"))


# -- --overwrite ---------------------------------------------------------------

def test_overwrite_with_a_data_typo_or_bad_option_leaves_the_old_run_whole(data, whole,
                                                                           tmp_path, capsys):
    run = _copy(whole, tmp_path)
    before = _digests(run)
    for extra in (["--data", str(data) + "-typo"], ["--data", str(data), "--lr", "-1"],
                  ["--data", str(data), "--init-from", str(tmp_path / "missing")]):
        assert main(["train", "--out", str(run), "--overwrite", "--epochs", "1", *CLI,
                     *extra]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
        assert _digests(run) == before


def test_overwrite_a_run_initialised_from_itself_fine_tunes_its_weights(data, whole, tmp_path):
    run = _copy(whole, tmp_path)
    old = load_file(str(run / "model.safetensors"))
    assert main(["train", "--out", str(run), "--overwrite", "--init-from", str(run), "--data",
                 str(data), "--epochs", "1", "--batch-size", "2", "--scale", "224",
                 "--workers", "0", "--no-progress", "--device", "cpu", "--lr", "1e-9"]) == 0
    new = load_file(str(run / "model.safetensors"))
    assert [r["epoch"] for r in _rows(run)] == [1]
    # lr 1e-9: the trunk moved by ~nothing from the old run's weights (read before deleting).
    assert torch.allclose(new["features.0.weight"], old["features.0.weight"], atol=1e-6)
    assert json.loads((run / "config.json").read_text())["init_from"] == str(run)


# -- --max-steps ---------------------------------------------------------------

def test_max_steps_mid_epoch_resumes_mid_epoch_and_equals_an_uninterrupted_run(stopped, whole,
                                                                              tmp_path):
    first = stopped[1]
    assert first.steps == 3 and [r["epoch"] for r in first.metrics] == [1]  # epoch 2 not done
    run = _copy(stopped[0], tmp_path)
    last = torch.load(run / "checkpoints" / "last.pt", weights_only=True)
    assert (last["epoch"], last["step"], last["batches_done"]) == (1, 3, 1)
    resumed = vggzoo.train(out=run, resume=True)
    assert resumed.steps == 4 and resumed.epochs == 2
    assert _same_weights(whole / "model.safetensors", run / "model.safetensors")
    assert _rows(whole) == _rows(run)


def test_a_max_steps_stop_before_any_validation_says_so(data, tmp_path, capsys):
    run = tmp_path / "run"
    assert main(["train", "--data", str(data), "--out", str(run), "--epochs", "2",
                 "--max-steps", "1", *CLI]) == 0
    printed = capsys.readouterr().out
    assert "inf" not in printed and "none yet" in printed


def test_resume_with_nothing_left_to_train_is_an_error(stopped, whole, tmp_path, capsys):
    run = _copy(stopped[0], tmp_path)
    before = _digests(run)
    for limit in ("3", "2"):
        assert main(["train", "--out", str(run), "--resume", "--max-steps", limit]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "already trained 3 optimizer steps" in err
        assert "--max-steps N with N > 3" in err
    assert _digests(run) == before
    with pytest.raises(ConfigError, match="already finished 2 of its 2 epoch"):
        vggzoo.train(out=whole, resume=True)


# -- a run stopped early -------------------------------------------------------

def test_resume_of_a_run_stopped_before_its_first_checkpoint_restarts_it(data, whole, tmp_path,
                                                                        caplog):
    run = tmp_path / "run"
    with pytest.raises(Stop):
        vggzoo.train("vgg11", data, run, epochs=2, callbacks=[_stop_at(1)], **API)
    assert (run / "config.json").is_file() and not (run / "checkpoints" / "last.pt").exists()
    with caplog.at_level("WARNING", logger="vggzoo.train"):
        assert main(["train", "--out", str(run), "--resume"]) == 0
    said = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert len(said) == 1 and "no checkpoint yet" in said[0] and "from scratch" in said[0]
    assert _same_weights(whole / "model.safetensors", run / "model.safetensors")
    assert _rows(whole) == _rows(run)


def test_an_interrupted_run_has_its_best_weights_to_predict_with(stopped, capsys):
    run = stopped[0]  # stopped in epoch 2: epoch 1 was the best so far
    best = torch.load(run / "checkpoints" / "best.pt", weights_only=True)["model"]
    weights = load_file(str(run / "model.safetensors"))
    assert all(torch.equal(weights[k], best[k]) for k in best)
    image = next((Path(json.loads((run / "config.json").read_text())["data"]) / "val" / "class0")
                 .iterdir())
    assert main(["predict", str(image), "--weights", str(run), "--scales", "224",
                 "--no-progress"]) == 0
    assert "class0" in capsys.readouterr().out


# -- SIGTERM -------------------------------------------------------------------

def test_sigterm_ends_a_real_train_like_ctrl_c(data, tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "vggzoo", "train", "--data", str(data),
                             "--out", str(run), "--epochs", "100", "--checkpoint-every", "1",
                             *CLI], env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        deadline = time.monotonic() + 120
        while not (run / "checkpoints" / "last.pt").exists() and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        time.sleep(0.3)  # somewhere in the next steps, maybe mid-write
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 143, err
    assert err.strip().splitlines()[-1] == "vggzoo train: terminated (SIGTERM)"
    assert "Traceback" not in err
    lock = os.open(run / ".vggzoo.lock", os.O_RDWR)
    try:  # released: another process can take it at once
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    finally:
        os.close(lock)
    assert not [p for p in run.rglob("*.tmp")]
    step = torch.load(run / "checkpoints" / "last.pt", weights_only=True)["step"]
    assert main(["train", "--out", str(run), "--resume", "--max-steps", str(step + 1)]) == 0
