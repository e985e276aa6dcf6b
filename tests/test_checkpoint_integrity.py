"""Checkpoints record their digest: a damaged ``last.pt`` is never resumed
as if it were good.  The run resumes from the previous good checkpoint that
was kept, or stops with one line naming the file (``vggzoo train --resume``,
exit 2), never a traceback."""

import struct

import pytest
import torch

from vggzoo.cli import main
from vggzoo.training.checkpoint import LAST, PREVIOUS, load_checkpoint, save_checkpoint
from vggzoo.errors import DamagedFileError

ARGS = ["--model", "vgg11", "--width-mult", str(1 / 32), "--scale", "224", "--batch-size", "4",
        "--init", "glorot", "--workers", "0", "--no-progress", "--device", "cpu"]


def _train(data, out, epochs, *extra):
    return main(["train", "--data", str(data), "--out", str(out), "--epochs", str(epochs),
                 *ARGS, *extra])


def _flip_inside_tensor(path):
    """Flip bytes inside the largest stored tensor, not in the zip framing."""
    import zipfile

    with zipfile.ZipFile(path) as archive:
        info = max((i for i in archive.infolist() if "/data/" in i.filename),
                   key=lambda i: i.file_size)
    data = bytearray(path.read_bytes())
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    start = info.header_offset + 30 + name_len + extra_len + info.file_size // 2
    for i in range(start, start + 32):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def test_a_checkpoint_with_flipped_bytes_is_refused(tmp_path):
    path = save_checkpoint(tmp_path / "last.pt", {"model": {"w": torch.arange(4096.0)},
                                                  "epoch": 1})
    assert load_checkpoint(path)["epoch"] == 1
    _flip_inside_tensor(path)
    assert torch.load(path, weights_only=True)["epoch"] == 1  # torch itself does not notice
    with pytest.raises(DamagedFileError, match=r"last\.pt: checkpoint is damaged.*XXH3-128"):
        load_checkpoint(path)


def test_resume_falls_back_to_the_previous_good_checkpoint(image_folder, tmp_path, capsys,
                                                           caplog):
    out = tmp_path / "run"
    assert _train(image_folder, out, 2) == 0
    checkpoints = out / "checkpoints"
    assert load_checkpoint(checkpoints / PREVIOUS)["epoch"] == 1
    assert load_checkpoint(checkpoints / LAST)["epoch"] == 2
    _flip_inside_tensor(checkpoints / LAST)
    capsys.readouterr()
    assert _train(image_folder, out, 3, "--resume") == 0
    assert "last.pt: checkpoint is damaged" in caplog.text, caplog.text
    assert "resuming from" in caplog.text and "previous.pt (epoch 1" in caplog.text
    assert load_checkpoint(checkpoints / LAST)["epoch"] == 3
    assert load_checkpoint(checkpoints / PREVIOUS)["epoch"] == 2  # the damaged one was dropped
    # Both damaged: one line naming the file, exit 2.
    for name in (LAST, PREVIOUS):
        _flip_inside_tensor(checkpoints / name)
    assert _train(image_folder, out, 4, "--resume") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "".join(err)
    assert "error:" in err[-1] and "last.pt" in err[-1] and "--overwrite" in err[-1], err


def test_a_truncated_last_checkpoint_is_one_line(image_folder, tmp_path, capsys):
    out = tmp_path / "run"
    assert _train(image_folder, out, 1) == 0
    last = out / "checkpoints" / LAST
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])
    capsys.readouterr()
    assert _train(image_folder, out, 2, "--resume") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "Traceback" not in "".join(err)
    assert "last.pt" in err[-1] and "truncated" in err[-1], err
