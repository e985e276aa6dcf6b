"""A run's ``model.safetensors`` is replaced only by a file that reads back
intact, and the good file it replaced is kept as ``previous.safetensors``:
a damaged weights file's error names it, and a damaged one is never kept
(real runs, real files with flipped bytes)."""

import hashlib
import struct
from pathlib import Path

import pytest

import vggzoo
from vggzoo.cli import main
from vggzoo.errors import DamagedFileError
from vggzoo.weights.files import read_state_dict

W = 1 / 32
API = dict(width_mult=W, scale="224", batch_size=4, init="glorot", workers=0, progress=False,
           device="cpu")


def _flip_tensor_data(path):
    """Flip 32 bytes in the middle of a .safetensors file's tensor data."""
    data = bytearray(path.read_bytes())
    (header,) = struct.unpack("<Q", data[:8])
    start = 8 + header + (len(data) - 8 - header) // 2
    for i in range(start, start + 32):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def run(image_folder, tmp_path):
    out = tmp_path / "run"
    vggzoo.train("vgg11", image_folder, out, epochs=1, **API)
    return out


def test_a_damaged_run_weights_file_names_the_kept_previous_one(run, image_folder, capsys):
    weights, previous = run / "model.safetensors", run / "previous.safetensors"
    # Written at the new best epoch, then replaced (and kept) by the final file.
    assert previous.is_file() and read_state_dict(previous)
    _flip_tensor_data(weights)
    image = next(p for p in (image_folder / "val").rglob("*") if p.is_file())
    predict = ["predict", str(image), "--scales", "224", "--no-progress", "--weights"]
    capsys.readouterr()
    assert main([*predict, str(run)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert "model.safetensors" in err and "damaged" in err and str(previous) in err, err
    assert main([*predict, str(previous)]) == 0


def test_a_damaged_weights_file_is_never_kept_as_previous(run, image_folder):
    weights, previous = run / "model.safetensors", run / "previous.safetensors"
    _flip_tensor_data(weights)
    damaged = _sha(weights)
    vggzoo.train("vgg11", image_folder, run, epochs=2, resume=True, **API)
    assert _sha(previous) != damaged and read_state_dict(previous)  # good, verified on load
    assert read_state_dict(weights)


def test_new_weights_replace_the_old_only_once_they_read_back_intact(run, image_folder,
                                                                     monkeypatch):
    import safetensors.torch

    weights = run / "model.safetensors"
    before = _sha(weights), (run / "previous.safetensors").read_bytes()
    real_save = safetensors.torch.save_file

    def save_on_a_bad_disk(tensors, filename, metadata=None):  # the disk returns other bytes
        real_save(tensors, filename, metadata=metadata)
        _flip_tensor_data(Path(filename))

    monkeypatch.setattr(safetensors.torch, "save_file", save_on_a_bad_disk)
    with pytest.raises(DamagedFileError, match="read back.*previous file was left in place"):
        vggzoo.train("vgg11", image_folder, run, epochs=2, resume=True, **API)
    assert (_sha(weights), (run / "previous.safetensors").read_bytes()) == before
    assert not list(run.glob(".*.tmp"))
