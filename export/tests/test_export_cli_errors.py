"""User mistakes and a full disk in `vggzoo-export` end in one line and exit
code 2, found before the export where possible, and leave nothing behind."""

import os
import resource
import subprocess
import sys

import pytest


def _export(*args, cwd, file_size_limit=None, **env):
    def limit():  # a real EFBIG on writes past the limit (Python ignores SIGXFSZ)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size_limit, file_size_limit))

    return subprocess.run([sys.executable, "-m", "vggzoo_export", *args], capture_output=True,
                          text=True, cwd=cwd, timeout=300, env={**os.environ, **env},
                          preexec_fn=limit if file_size_limit else None)


def _one_line(result, *needles):
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1, result.stderr
    assert errors[0].startswith("vggzoo-export export: error: ")
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


@pytest.mark.parametrize("option, needle", [
    (["--width-mult", "0"], "--width-mult"),
    (["--width-mult", "nan"], "--width-mult"),
    (["--num-classes", "0"], "--num-classes"),
])
def test_impossible_model_options_are_one_line(tmp_path, option, needle):
    result = _export("vgg11", *option, cwd=tmp_path)
    _one_line(result, needle)
    assert list(tmp_path.iterdir()) == []


def test_output_naming_a_folder_fails_before_exporting(tmp_path):
    (tmp_path / "models").mkdir()
    result = _export("vgg11", "--width-mult", "0.0625", "-o", "models", cwd=tmp_path)
    _one_line(result, "models is a folder", "-o models/vgg11.onnx")
    assert "RANDOM weights" not in result.stderr  # stopped before the model was built
    assert list((tmp_path / "models").iterdir()) == []


def test_output_in_a_missing_folder_fails_before_exporting(tmp_path):
    result = _export("vgg11", "--width-mult", "0.0625", "--protocol", "dense", "-o",
                     "nowhere/m.onnx", cwd=tmp_path)
    _one_line(result, "nowhere", "does not exist")
    assert "RANDOM weights" not in result.stderr


def test_a_full_disk_is_one_line_and_leaves_nothing(tmp_path):
    result = _export("vgg11", "--width-mult", "0.0625", "-o", "m.onnx", cwd=tmp_path,
                     file_size_limit=100_000)
    _one_line(result, "cannot write m.onnx", "File too large", "free space")
    assert list(tmp_path.iterdir()) == []  # no file, no hidden staging folder


def test_debug_shows_the_traceback(tmp_path):
    flag = _export("vgg11", "--width-mult", "0", "--debug", cwd=tmp_path)
    assert flag.returncode != 0 and "Traceback" in flag.stderr and "OptionError" in flag.stderr
    env = _export("vgg11", "--width-mult", "0", cwd=tmp_path, VGGZOO_DEBUG="1")
    assert "Traceback" in env.stderr
