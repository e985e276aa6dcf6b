"""Files written by earlier vggzoo versions record SHA-256 digests
(``tensors_sha256`` in a ``.safetensors`` file, entry ``sha256`` in a
checkpoint); they still load, and a flipped byte in them is still refused.
The old files are made here the way those versions wrote them (safetensors'
``save_file``, ``torch.save`` and hashlib), not with vggzoo's digest code.
The background check of ``create`` never hands out a model of damaged
weights and leaves no thread behind."""

import hashlib
import threading

import pytest
import torch
from safetensors.torch import save_file

import vggzoo
from vggzoo.errors import DamagedFileError, WeightsError
from vggzoo.plugins.testing import TINY_WIDTH
from vggzoo.training.checkpoint import load_checkpoint
from vggzoo.weights.files import read_metadata, save_weights


def _v1_tensors_sha256(tensors):
    """The digest vggzoo 0.1 recorded: name, dtype, shape, bytes, in name order."""
    digest = hashlib.sha256(b"vggzoo-tensors-v1\0")
    for name in sorted(tensors):
        tensor = tensors[name].contiguous()
        digest.update(f"{name}\0{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
        digest.update(tensor.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def _flip(path, offset, count=16):
    data = bytearray(path.read_bytes())
    for i in range(offset, offset + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture
def old_weights(tmp_path):
    model = vggzoo.create("vgg11", width_mult=TINY_WIDTH, num_classes=3)
    tensors = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    meta = {**model.pretrained_cfg.facts("x").to_metadata(),
            "tensors_sha256": _v1_tensors_sha256(tensors)}
    path = tmp_path / "old.safetensors"
    save_file(tensors, str(path), metadata=meta)
    return path, tensors


def test_weights_with_the_old_sha256_key_load_and_a_flipped_byte_is_refused(old_weights):
    path, tensors = old_weights
    loaded = vggzoo.create("vgg11", weights=path).state_dict()
    assert all(torch.equal(loaded[k], tensors[k]) for k in tensors)
    _flip(path, path.stat().st_size - 200)  # inside the last tensor's data
    with pytest.raises(DamagedFileError, match=r"old\.safetensors: weights file is damaged: "
                                               r"it records SHA-256"):
        vggzoo.create("vgg11", weights=path)


def test_saving_again_writes_only_the_xxh3_key(old_weights, tmp_path):
    path, _ = old_weights
    model = vggzoo.create("vgg11", weights=path)
    meta = dict(read_metadata(path))
    again = save_weights(model, tmp_path / "again.safetensors", metadata=meta)
    keys = set(read_metadata(again))
    assert "tensors_xxh3_128" in keys and "tensors_sha256" not in keys


def _v1_walk(digest, value):
    """vggzoo 0.1's checkpoint digest walk (for the plain values used here)."""
    if isinstance(value, torch.Tensor):
        digest.update(f"T{value.dtype}\0{tuple(value.shape)}\0".encode())
        digest.update(value.contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(value, dict):
        digest.update(f"D{len(value)}\0".encode())
        for key, item in value.items():
            _v1_walk(digest, key)
            _v1_walk(digest, item)
    else:
        digest.update(f"V{type(value).__name__}\0{value!r}\0".encode())


def test_a_checkpoint_with_the_old_sha256_entry_loads_and_a_flipped_byte_is_refused(tmp_path):
    contents = {"model": {"w": torch.arange(4096.0)}, "epoch": 1}
    digest = hashlib.sha256(b"vggzoo-checkpoint-v1\0")
    _v1_walk(digest, contents)
    path = tmp_path / "last.pt"
    torch.save({**contents, "sha256": digest.hexdigest()}, path)
    loaded = load_checkpoint(path)
    assert loaded["epoch"] == 1 and "sha256" not in loaded
    assert torch.equal(loaded["model"]["w"], contents["model"]["w"])
    raw = bytearray(path.read_bytes())
    start = raw.find(torch.arange(4096.0).numpy().tobytes()[:64]) + 8000  # inside "w"
    assert start > 8000
    raw[start:start + 16] = bytes(b ^ 0xFF for b in raw[start:start + 16])
    path.write_bytes(bytes(raw))
    with pytest.raises(DamagedFileError, match=r"last\.pt: checkpoint is damaged.*SHA-256"):
        load_checkpoint(path)


def test_damaged_weights_are_refused_even_when_create_fails_for_another_reason(tmp_path):
    weights = save_weights(vggzoo.create("vgg11", width_mult=TINY_WIDTH),
                           tmp_path / "w.safetensors")
    _flip(weights, weights.stat().st_size - 200)
    before = {t.ident for t in threading.enumerate()}
    with pytest.raises(DamagedFileError, match="XXH3-128") as caught:
        vggzoo.create("vgg11", weights=weights, width_mult=0.5)  # contradicts the file too
    assert isinstance(caught.value.__context__, WeightsError)  # the other error is kept
    assert {t.ident for t in threading.enumerate()} <= before  # no check left running
