"""A killed export leaves its hidden staging folder; the next export into
the same place removes it, but never one whose export still runs."""

import os
import signal
import subprocess
import sys
import time

import onnx

from vggzoo_export.cli.main import main

ARGS = ["vgg11", "--width-mult", "0.25", "-o", "m.onnx"]


def _stages(folder):
    return sorted(p.name for p in folder.glob(".m.onnx.*.partial"))


def _start_export(folder):
    """An export in its own process, returned once it is writing its staging
    folder (the owner file exists)."""
    proc = subprocess.Popen([sys.executable, "-m", "vggzoo_export", *ARGS], cwd=folder,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not list(folder.glob(".m.onnx.*.partial/owner")):
        assert proc.poll() is None, "the export ended before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return proc


def test_a_killed_exports_staging_folder_is_removed_by_the_next_export(tmp_path, monkeypatch):
    killed = _start_export(tmp_path)
    time.sleep(0.05)  # mid-export
    killed.send_signal(signal.SIGKILL)
    killed.wait()
    left = _stages(tmp_path)
    assert len(left) == 1 and f".{killed.pid}." in left[0]
    assert not (tmp_path / "m.onnx").exists()
    monkeypatch.chdir(tmp_path)
    assert main(ARGS) == 0
    assert _stages(tmp_path) == []
    onnx.checker.check_model(str(tmp_path / "m.onnx"))


def test_a_running_exports_staging_folder_is_left_alone(tmp_path, monkeypatch):
    paused = _start_export(tmp_path)
    try:
        paused.send_signal(signal.SIGSTOP)  # alive, mid-export
        theirs = _stages(tmp_path)
        monkeypatch.chdir(tmp_path)
        assert main(ARGS) == 0
        assert _stages(tmp_path) == theirs  # still there: its owner runs
    finally:
        paused.send_signal(signal.SIGKILL)
        paused.wait()
    assert main(ARGS) == 0
    assert _stages(tmp_path) == []


def test_staging_folders_of_other_files_are_not_touched(tmp_path, monkeypatch):
    other = tmp_path / ".other.onnx.1.abc.partial"
    other.mkdir()
    (other / "owner").write_text('{"host": "x", "pid": 1}')
    monkeypatch.chdir(tmp_path)
    assert main(ARGS) == 0
    assert other.is_dir() and os.listdir(tmp_path).count("m.onnx") == 1
