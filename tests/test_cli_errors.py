"""User mistakes and machine problems (a full disk) in the `vggzoo` command
line end in one line and exit code 2, found before the work where possible."""

import os
import resource
import subprocess
import sys

import pytest


def _vggzoo(*args, file_size_limit=None, timeout=300, **env):
    def limit():  # a real EFBIG on writes past the limit (Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run([sys.executable, "-m", "vggzoo", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", **env}, timeout=timeout,
                          preexec_fn=limit if file_size_limit else None)


def _one_line(result, prefix, *needles):
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines()
             if line.strip() and not line.startswith(("data ", "RGB statistics"))]
    errors = [line for line in lines if line.startswith(prefix)]
    assert len(errors) == 1 and "Traceback" not in result.stderr, result.stderr
    for needle in needles:
        assert needle in errors[0], errors[0]


def test_data_stats_on_a_full_disk_is_one_line_and_leaves_no_file(image_folder):
    result = _vggzoo("data", "stats", str(image_folder), file_size_limit=64)
    _one_line(result, "vggzoo data: error: ", "stats.json", "File too large", "free space")
    assert sorted(p.name for p in image_folder.iterdir()) == ["train", "val"]  # no temp files


def test_data_stats_out_into_a_missing_folder_fails_before_reading(image_folder, tmp_path):
    (image_folder / "train" / "class0" / "0.png").write_bytes(b"not an image")
    result = _vggzoo("data", "stats", str(image_folder), "--out", str(tmp_path / "no" / "s.json"))
    _one_line(result, "vggzoo data: error: ", "does not exist", "--out")
    assert "skipping unreadable image" not in result.stderr  # the images were not read


def test_training_on_a_full_disk_is_one_line(image_folder, tmp_path):
    result = _vggzoo("train", "--model", "vgg11", "--data", str(image_folder), "--out",
                     str(tmp_path / "run"), "--width-mult", "0.0625", "--batch-size", "4",
                     "--scale", "224", "--epochs", "1", "--max-steps", "1", "--no-progress",
                     "--workers", "0", file_size_limit=20_000)  # workers share memory via files
    _one_line(result, "vggzoo train: error: ", "cannot write", "last.pt", "free space")


def test_train_out_below_a_file_fails_before_training(image_folder, tmp_path):
    (tmp_path / "afile").write_text("x")
    result = _vggzoo("train", "--model", "vgg11", "--data", str(image_folder), "--out",
                     str(tmp_path / "afile" / "run"), "--width-mult", "0.0625")
    _one_line(result, "vggzoo train: error: ", "is a file, not a folder", "--out")


@pytest.mark.parametrize("option", [["--width-mult", "0"], ["--num-classes", "0"]])
def test_impossible_model_options_are_one_line(image_folder, tmp_path, option):
    result = _vggzoo("eval", "--model", "vgg11", "--data", str(image_folder), "--scales", "224",
                     *option)
    _one_line(result, "vggzoo eval: error: ", option[0])
