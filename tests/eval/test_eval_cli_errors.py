"""User mistakes in `vggzoo eval` are one line, found before the work starts."""

import os
import subprocess
import sys

from eval_helpers import save_checkpoint, tiny_model

from vggzoo.cli import main


def _one_line_error(captured, *needles):
    err_lines = [line for line in captured.err.splitlines() if line.strip()]
    assert len(err_lines) == 1, captured.err
    assert err_lines[0].startswith("vggzoo eval: error: ")
    for needle in needles:
        assert needle in err_lines[0], err_lines[0]


def test_json_into_a_missing_folder_fails_before_evaluating(image_folder, checkpoint, tmp_path,
                                                            capsys):
    out = tmp_path / "missing" / "r.json"
    assert main(["eval", "--weights", str(checkpoint), "--data", str(image_folder),
                 "--json", str(out), "--no-progress"]) == 2
    captured = capsys.readouterr()
    _one_line_error(captured, str(out), "does not exist", "--json")
    assert captured.out == ""  # no results table: nothing was evaluated
    # The same options with a folder that exists evaluate and write the file.
    out.parent.mkdir()
    assert main(["eval", "--weights", str(checkpoint), "--data", str(image_folder),
                 "--json", str(out), "--no-progress"]) == 0
    assert out.is_file()


def test_json_naming_a_folder_is_one_line(image_folder, checkpoint, tmp_path, capsys):
    assert main(["eval", "--weights", str(checkpoint), "--data", str(image_folder),
                 "--json", str(tmp_path)]) == 2
    _one_line_error(capsys.readouterr(), "is a folder")


def test_fusing_networks_of_other_class_counts_is_one_line(image_folder, tmp_path, capsys):
    three = save_checkpoint(tiny_model(), tmp_path / "three.safetensors")
    import vggzoo

    four = vggzoo.create("vgg11", num_classes=4, width_mult=1 / 16)
    four_path = save_checkpoint(four, tmp_path / "four.safetensors")
    assert main(["eval", "--weights", str(three), "--fuse", str(four_path), "--data",
                 str(image_folder), "--no-progress"]) == 2
    _one_line_error(capsys.readouterr(), "cannot fuse", "4 classes", "3 classes")


def test_debug_switch_shows_the_traceback(image_folder, tmp_path):
    args = [sys.executable, "-m", "vggzoo", "eval", "--model", "vgg61", "--data",
            str(image_folder)]
    plain = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert len(plain.stderr.strip().splitlines()) == 1
    debug = subprocess.run(args + ["--debug"], capture_output=True, text=True, timeout=120)
    assert "Traceback" in debug.stderr and "UnknownNameError" in debug.stderr
    env = subprocess.run(args, capture_output=True, text=True, timeout=120,
                         env={**os.environ, "VGGZOO_DEBUG": "1"})
    assert "Traceback" in env.stderr
