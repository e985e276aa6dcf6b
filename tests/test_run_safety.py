"""A run is never destroyed and never reported as done when it diverged:
existing runs, concurrent writers, resume changes, moved data, killed
writers' temp files, file permissions, non-finite losses (real processes,
real signals, real locks)."""

import hashlib
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file

import vggzoo
from vggzoo.cli import main
from vggzoo.errors import DivergedError

REPO = Path(__file__).resolve().parents[1]
W = 1 / 32
ARGS = ["--width-mult", str(W), "--scale", "224", "--batch-size", "4", "--init", "glorot",
        "--workers", "0", "--no-progress", "--device", "cpu"]
ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")]),
       "OMP_NUM_THREADS": "1"}


def _train(data, out, *extra):
    return main(["train", "--model", "vgg11", "--data", str(data), "--out", str(out), "--epochs",
                 "1", *ARGS, *extra])


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _strict_json_lines(path):
    def reject(constant):
        raise ValueError(f"non-JSON constant {constant}")
    return [json.loads(line, parse_constant=reject) for line in Path(path).read_text().splitlines()]


def test_an_existing_run_is_refused_unless_resume_or_overwrite(image_folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(image_folder, out) == 0
    before = {name: _digest(out / name) for name in
              ("checkpoints/last.pt", "checkpoints/best.pt", "metrics.jsonl", "model.safetensors")}
    capsys.readouterr()
    assert _train(image_folder, out) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "already holds a training run" in err
    assert "--resume" in err and "--overwrite" in err
    assert {name: _digest(out / name) for name in before} == before
    assert _train(image_folder, out, "--resume", "--overwrite") == 2
    assert _train(image_folder, out, "--overwrite", "--seed", "7") == 0
    assert _digest(out / "checkpoints" / "last.pt") != before["checkpoints/last.pt"]
    assert len(_strict_json_lines(out / "metrics.jsonl")) == 1


HOLD_LOCK = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from vggzoo.training.rundir import RunLock
    Path(sys.argv[1]).mkdir(parents=True, exist_ok=True)
    with RunLock(Path(sys.argv[1])):
        print("locked", flush=True)
        time.sleep(120)
""")


def test_a_second_process_is_refused_with_the_first_ones_pid(image_folder, tmp_path, capsys):
    out = tmp_path / "run"
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(out)], env=ENV,
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        assert _train(image_folder, out) == 2
        err = capsys.readouterr().err
        assert f"pid {holder.pid}" in err and "training into" in err
        assert not (out / "metrics.jsonl").exists()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    # The kernel released the killed holder's lock: the run can start now.
    assert _train(image_folder, out) == 0


def test_resume_refuses_changes_to_what_defines_the_run(image_folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(image_folder, out) == 0
    capsys.readouterr()
    for change in (["--model", "vgg13"], ["--width-mult", "0.0625"], ["--lr", "0.5"],
                   ["--init", "paper"], ["--recipe", "paper-s384"]):
        assert main(["train", "--out", str(out), "--resume", *change]) == 2, change
        err = capsys.readouterr().err
        assert "cannot change" in err and change[0].lstrip("-").replace("-", "_") in err, change
    # What the docs list as changeable is accepted (and so is repeating a value).
    assert main(["train", "--out", str(out), "--resume", "--epochs", "2", "--model", "vgg11",
                 "--workers", "0"]) == 0
    assert [r["epoch"] for r in _strict_json_lines(out / "metrics.jsonl")] == [1, 2]


def test_resume_follows_moved_data_with_the_same_classes_only(image_folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(image_folder, out) == 0
    moved = shutil.copytree(image_folder, tmp_path / "moved")
    shutil.rmtree(image_folder)
    other = shutil.copytree(moved, tmp_path / "other")
    for split in ("train", "val"):
        (other / split / "class1").rename(other / split / "renamed")
    capsys.readouterr()
    assert main(["train", "--out", str(out), "--resume", "--data", str(other), "--epochs", "2"]) == 2
    err = capsys.readouterr().err
    assert "classes" in err and "renamed" in err and "class1" in err
    assert main(["train", "--out", str(out), "--resume", "--data", str(moved), "--epochs", "2"]) == 0
    assert json.loads((out / "config.json").read_text())["data"] == str(moved)
    assert len(_strict_json_lines(out / "metrics.jsonl")) == 2


KILLED_WRITER = textwrap.dedent("""
    import os, sys, time
    from vggzoo.io import atomic_path
    with atomic_path(sys.argv[1]) as tmp:
        tmp.write_bytes(b"half a checkpoint")
        print(tmp, flush=True)
        time.sleep(120)
""")


def test_temp_files_of_a_killed_writer_are_removed_by_the_next_run(image_folder, tmp_path):
    out = tmp_path / "run"
    assert _train(image_folder, out) == 0
    writer = subprocess.Popen([sys.executable, "-c", KILLED_WRITER,
                               str(out / "checkpoints" / "last.pt")],
                              env=ENV, stdout=subprocess.PIPE, text=True)
    leftover = Path(writer.stdout.readline().strip())
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert leftover.is_file() and leftover.name.startswith(".last.pt.")
    assert main(["train", "--out", str(out), "--resume", "--epochs", "2"]) == 0
    assert not leftover.exists()
    assert not list(out.rglob("*.tmp"))


@pytest.mark.parametrize("umask", [0o022, 0o027])
def test_every_file_of_a_run_follows_the_umask(image_folder, tmp_path, umask):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "vggzoo", "train", "--model", "vgg11", "--data",
                           str(image_folder), "--out", str(out), "--epochs", "1", *ARGS],
                          env=ENV, capture_output=True, text=True,
                          preexec_fn=lambda: os.umask(umask))
    assert done.returncode == 0, done.stderr
    files = [p for p in out.rglob("*") if p.is_file()]
    assert {p.name for p in files} >= {"config.json", "metrics.jsonl", "model.safetensors",
                                        "last.pt", "best.pt"}
    modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert set(modes.values()) == {oct(0o666 & ~umask)}, modes


def test_a_diverging_run_stops_with_one_line_and_keeps_finite_files(image_folder, tmp_path):
    out = tmp_path / "run"
    done = subprocess.run([sys.executable, "-m", "vggzoo", "train", "--model", "vgg11", "--data",
                           str(image_folder), "--out", str(out), "--epochs", "3", "--lr", "1e5",
                           "--checkpoint-every", "1", *ARGS],
                          env=ENV, capture_output=True, text=True)
    assert done.returncode == 2, done.stderr
    # The log goes to stderr too; the error is its last line, and the only one.
    err = [line for line in done.stderr.splitlines() if "error" in line]
    assert len(err) == 1 and done.stderr.strip().endswith(err[0])
    assert "diverged" in err[0] and "step" in err[0] and "lr 100000" in err[0]
    assert "Traceback" not in done.stderr and "--lr" in err[0]
    assert not (out / "model.safetensors").exists()
    last = torch.load(out / "checkpoints" / "last.pt", weights_only=True)
    assert last["step"] >= 1
    assert all(torch.isfinite(v).all() for v in last["model"].values())


def test_nan_weights_are_never_checkpointed_and_metrics_stay_json(image_folder, tmp_path):
    def poison(trainer):  # after step 3's checkpoint, mid-epoch 2: a NaN weight
        if trainer.step == 3:
            with torch.no_grad():
                trainer.net.features[0].weight[0, 0, 0, 0] = float("nan")

    out = tmp_path / "run"
    with pytest.raises(DivergedError, match="step 4 .*lr 0.01"):
        vggzoo.train("vgg11", image_folder, out, epochs=3, batch_size=4, init="glorot",
                     checkpoint_every=1, width_mult=W, scale="224", workers=0, progress=False,
                     device="cpu", callbacks=[poison])
    for name in ("last.pt", "best.pt"):
        state = torch.load(out / "checkpoints" / name, weights_only=True)["model"]
        assert all(torch.isfinite(v).all() for v in state.values()), name
    assert torch.load(out / "checkpoints" / "last.pt", weights_only=True)["step"] == 3
    rows = _strict_json_lines(out / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [1]
    # The weights file is epoch 1's, the best one: finite and equal to best.pt.
    best = torch.load(out / "checkpoints" / "best.pt", weights_only=True)["model"]
    weights = load_file(str(out / "model.safetensors"))
    assert weights.keys() == best.keys() and all(torch.equal(weights[k], best[k]) for k in best)
