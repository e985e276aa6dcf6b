"""Damaged files are never used: weights and checkpoints made here, then
damaged for real (flipped bytes inside tensor data, truncation, edited
headers, metadata that contradicts the tensors), each refused with one line
naming the file through the CLI (exit 2) and the API, never a traceback and
never an exit 0 with different numbers."""

import json
import struct

import pytest
import torch
from PIL import Image

import vggzoo
from vggzoo.cli import main
from vggzoo.data.samples import load_photo
from vggzoo.errors import DamagedFileError, WeightsError
from vggzoo.plugins.testing import TINY_WIDTH
from vggzoo.weights.files import read_metadata, save_weights
from vggzoo.weights.verify import DIGEST_KEY

MODEL = ["--model", "vgg11", "--device", "cpu", "--no-progress"]


@pytest.fixture
def weights(tmp_path):
    model = vggzoo.create("vgg11", width_mult=TINY_WIDTH, num_classes=3)
    return save_weights(model, tmp_path / "model.safetensors")


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "chelsea.jpg"
    Image.fromarray(load_photo("chelsea")).resize((64, 48)).save(path)
    return path


def _data_start(path):
    return 8 + struct.unpack("<Q", path.read_bytes()[:8])[0]


def _flip(path, offset, count=64):
    data = bytearray(path.read_bytes())
    for i in range(offset, offset + count):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


def _one_line_error(capsys, *words):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for word in words:
        assert word in err, (word, err)
    return err


def test_saved_weights_record_their_digest_and_load(weights):
    assert len(read_metadata(weights)[DIGEST_KEY]) == 32  # XXH3-128, hex
    loaded = vggzoo.create("vgg11", weights=weights)
    assert loaded.pretrained_cfg.num_classes == 3


def test_flipped_tensor_bytes_are_refused_by_predict_eval_and_create(weights, photo, tmp_path,
                                                                    capsys, monkeypatch):
    good = vggzoo.create("vgg11", weights=weights).state_dict()
    _flip(weights, (_data_start(weights) + weights.stat().st_size) // 2)
    expected = read_metadata(weights)[DIGEST_KEY]
    assert main(["predict", str(photo), "--weights", str(weights), *MODEL]) == 2
    _one_line_error(capsys, str(weights), expected, "damaged", "VGGZOO_VERIFY=0")
    data = tmp_path / "data"
    for name in ("a", "b", "c"):
        (data / name).mkdir(parents=True)
        Image.open(photo).save(data / name / "x.png")
    assert main(["eval", "--weights", str(weights), "--data", str(data), "--scales", "224",
                 *MODEL]) == 2
    _one_line_error(capsys, str(weights), "XXH3-128")
    with pytest.raises(DamagedFileError, match="damaged"):
        vggzoo.create("vgg11", weights=weights)
    # The documented opt-out loads the file as it is (and the numbers differ).
    monkeypatch.setenv("VGGZOO_VERIFY", "0")
    damaged = vggzoo.create("vgg11", weights=weights).state_dict()
    assert any(not torch.equal(good[k], damaged[k]) for k in good)


def _truncate(path):
    path.write_bytes(path.read_bytes()[: path.stat().st_size - 100])


def _header_length(path):
    data = bytearray(path.read_bytes())
    data[:8] = struct.pack("<Q", 1 << 40)
    path.write_bytes(bytes(data))


def _edit_header(path, old, new):
    data = path.read_bytes()
    start = _data_start(path)
    header = data[8:start].replace(old, new, 1).rstrip(b" ").ljust(start - 8)  # padding absorbs
    assert len(header) == start - 8 and header != data[8:start]
    path.write_bytes(data[:8] + header + data[start:])


@pytest.mark.parametrize("damage, words", [
    (_truncate, ("truncated", "bytes of data")),
    (_header_length, ("header length", "damaged, or another format")),
    (lambda p: _edit_header(p, b'"dtype":', b'"dtype";'), ("does not parse",)),
    (lambda p: _edit_header(p, b'"F32"', b'"Q32"'), ("unknown dtype", "'Q32'")),
    (lambda p: _edit_header(p, b'"shape":[1', b'"shape":[9'), ("needs", "bytes")),  # same length
    (lambda p: _edit_header(p, b'"data_offsets":[0,', b'"data_offsets":[8,'), ("range",)),
    (lambda p: p.write_bytes(b"ONNX" * 40), ("another format",)),
])
def test_damaged_safetensors_framing_is_one_line(weights, photo, capsys, damage, words):
    damage(weights)
    with pytest.raises(DamagedFileError, match="cannot read safetensors file"):
        vggzoo.create("vgg11", weights=weights)
    assert main(["predict", str(photo), "--weights", str(weights), *MODEL]) == 2
    _one_line_error(capsys, str(weights), *words)


def _save_with(tmp_path, **meta):
    model = vggzoo.create("vgg11", width_mult=TINY_WIDTH, num_classes=3)
    base = model.pretrained_cfg.facts("x").to_metadata()
    base.update({k: (v if isinstance(v, str) else json.dumps(v)) for k, v in meta.items()})
    return save_weights(model, tmp_path / "lies.safetensors", metadata=base)


PRE = {"name": "x", "mean": [0.5, 0.5, 0.5], "std": [0.2, 0.2, 0.2]}


@pytest.mark.parametrize("meta, words", [
    ({"num_classes": "5"}, ("5 classes", "3 outputs")),
    ({"classes": ["a", "b"]}, ("2 classes", "num_classes=3")),
    ({"classes": ["a", 1, "c"]}, ("not a list of class names",)),
    ({"classes": ["a", "a", "b"]}, ("more than once", "'a'")),
    ({"preprocessing": {**PRE, "std": [0.2, 0.0, 0.2]}}, ("positive stds",)),
    ({"preprocessing": {**PRE, "mean": [0.5, 0.5]}}, ("3 finite means",)),
    ({"dropout": "1.5"}, ("dropout=", "[0, 1)")),
    ({"width_mult": "nan"}, ("not finite",)),
    ({"width_mult": "0.5"}, ("width_mult=0.5", "32 channels", "has 4")),
    ({"in_chans": "1"}, ("in_chans=1", "takes 3")),
    ({"train_scale": "100000"}, ("train_scale", "100000")),
])
def test_metadata_that_contradicts_the_tensors_is_an_error(tmp_path, photo, capsys, meta, words):
    path = _save_with(tmp_path, **meta)
    with pytest.raises(WeightsError) as caught:
        vggzoo.create("vgg11", weights=path)
    assert all(word in str(caught.value) for word in words), caught.value
    assert main(["predict", str(photo), "--weights", str(path), *MODEL]) == 2
    _one_line_error(capsys, str(path), *words)


def test_fine_tuning_on_a_new_class_count_still_takes_a_new_head(tmp_path):
    torch.save(vggzoo.create("vgg11", width_mult=TINY_WIDTH).state_dict(), tmp_path / "w.pth")
    with pytest.warns(UserWarning, match="freshly initialised"):
        model = vggzoo.create("vgg11", weights=tmp_path / "w.pth", num_classes=4)
    assert model.pretrained_cfg.num_classes == 4


def test_a_truncated_or_foreign_pth_is_one_line(tmp_path, photo, capsys):
    path = tmp_path / "w.pth"
    torch.save(vggzoo.create("vgg11", width_mult=TINY_WIDTH).state_dict(), path)
    path.write_bytes(path.read_bytes()[:5000])
    assert main(["predict", str(photo), "--weights", str(path), *MODEL]) == 2
    _one_line_error(capsys, str(path), "truncated")
