"""Exported files record what their weights hash to: an ONNX file or
AOTInductor package with flipped bytes inside its weights is refused with
one line naming the file (``vggzoo predict``/``vggzoo eval --onnx``, exit
2; the API raises), where ONNX Runtime alone would run it and print other
numbers; damaged weights given to ``vggzoo-export`` are one line too."""

import os
import shutil
import subprocess
import sys

import onnx
import pytest
import torch
from PIL import Image

import vggzoo
from vggzoo.cli import main
from vggzoo.data.samples import load_photo
from vggzoo.plugins.testing import TINY_WIDTH
from vggzoo_export.core.integrity import DIGEST_PROP, digest_path
from vggzoo_export.errors import DamagedArtifactError
from vggzoo_export.onnx.runner import OrtRunner


def _flip_inside_largest_initializer(path):
    model = onnx.load(str(path))
    raw = max((t.raw_data for t in model.graph.initializer), key=len)
    data = bytearray(path.read_bytes())
    start = data.find(raw[:256]) + len(raw) // 2
    assert start > len(raw) // 2
    for i in range(start, start + 16):
        data[i] ^= 0xFF
    path.write_bytes(bytes(data))


@pytest.fixture
def damaged_onnx(tiny_onnx, tmp_path):
    path = shutil.copy(tiny_onnx, tmp_path / "damaged.onnx")
    _flip_inside_largest_initializer(path)
    return path


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "cat.png"
    Image.fromarray(load_photo("chelsea")).resize((256, 224)).save(path)
    return path


def _one_line(capsys, *words):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    assert all(word in err for word in words), err


def test_exported_onnx_records_its_digest_and_runs(tiny_onnx):
    props = {p.key: p.value for p in onnx.load(str(tiny_onnx)).metadata_props}
    assert len(props[DIGEST_PROP]) == 32  # XXH3-128, hex
    with OrtRunner(tiny_onnx, "cpu") as runner:
        assert runner.logits(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)


def test_flipped_onnx_weights_are_refused_by_predict_eval_and_the_runner(
        damaged_onnx, photo, tmp_path, capsys, monkeypatch):
    assert main(["predict", str(photo), "--onnx", str(damaged_onnx), "--no-progress"]) == 2
    _one_line(capsys, str(damaged_onnx), "XXH3-128", "damaged", "export it again")
    data = tmp_path / "data" / "n01440764"
    data.mkdir(parents=True)
    shutil.copy(photo, data / "x.png")
    assert main(["eval", "--onnx", str(damaged_onnx), "--data", str(data.parent), "--scales",
                 "224", "--no-progress"]) == 2
    _one_line(capsys, str(damaged_onnx), "XXH3-128")
    with pytest.raises(DamagedArtifactError, match="damaged"):
        OrtRunner(damaged_onnx, "cpu")
    monkeypatch.setenv("VGGZOO_VERIFY", "0")  # the documented opt-out runs it as it is
    with OrtRunner(damaged_onnx, "cpu") as runner:
        assert runner.logits(torch.zeros(1, 3, 224, 224)).shape == (1, 1000)


@pytest.mark.parametrize("cut", [0.5, 0.999])
def test_a_truncated_onnx_file_is_one_line(tiny_onnx, tmp_path, photo, capsys, cut):
    path = tmp_path / "cut.onnx"
    path.write_bytes(tiny_onnx.read_bytes()[: int(tiny_onnx.stat().st_size * cut)])
    assert main(["predict", str(photo), "--onnx", str(path), "--no-progress"]) == 2
    _one_line(capsys, str(path), "cannot load ONNX file")


def test_damaged_weights_given_to_vggzoo_export_are_one_line(tmp_path):
    weights = vggzoo.save_weights(vggzoo.create("vgg11", width_mult=TINY_WIDTH),
                                  tmp_path / "w.safetensors")
    data = bytearray(weights.read_bytes())
    data[-100:-80] = bytes(b ^ 0xFF for b in data[-100:-80])
    weights.write_bytes(bytes(data))
    done = subprocess.run([sys.executable, "-m", "vggzoo_export", "vgg11", "--weights",
                           str(weights), "-o", str(tmp_path / "out.onnx")],
                          capture_output=True, text=True, timeout=300, env=os.environ.copy())
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1 and str(weights) in errors[0] and "XXH3-128" in errors[0]
    assert not (tmp_path / "out.onnx").exists()


def test_a_damaged_aoti_package_is_refused(tmp_path):
    from vggzoo_export.aoti.package import AotiRunner, export_aoti

    model = vggzoo.create("vgg11", fully_conv=True, width_mult=TINY_WIDTH).eval()
    report = export_aoti(model, tmp_path / "m.pt2")
    assert digest_path(report.path) in report.files and digest_path(report.path).is_file()
    with AotiRunner(report.path):
        pass
    data = bytearray(report.path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 16] = bytes(b ^ 0xFF for b in data[middle:middle + 16])
    report.path.write_bytes(bytes(data))
    with pytest.raises(DamagedArtifactError, match=r"m\.pt2: AOTInductor package is damaged"):
        AotiRunner(report.path)


def test_an_exported_file_whose_preprocessing_lies_is_one_line(tiny_onnx, tmp_path, photo,
                                                                capsys):
    import json

    model = onnx.load(str(tiny_onnx))
    for prop in model.metadata_props:
        if prop.key == "vggzoo.preprocessing":
            prop.value = json.dumps({**json.loads(prop.value), "std": [0.2, 0.0, 0.2]})
    path = tmp_path / "lies.onnx"
    onnx.save_model(model, str(path))
    assert main(["predict", str(photo), "--onnx", str(path), "--no-progress"]) == 2
    _one_line(capsys, str(path), "preprocessing std", "positive stds")


def _old_onnx(path):
    """An ONNX file as vggzoo-export 0.1 sealed it: SHA-256 of the initializers
    (name, data type, dims, bytes) under ``tensors_sha256``."""
    import hashlib

    import numpy as np
    from onnx import TensorProto, helper, numpy_helper

    weight = np.arange(4096, dtype=np.float32)
    init = numpy_helper.from_array(weight, "w")
    graph = helper.make_graph([helper.make_node("Add", ["x", "w"], ["y"])], "g",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4096])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4096])],
                              [init])
    model = helper.make_model(graph)
    digest = hashlib.sha256(b"vggzoo-onnx-initializers-v1\0")
    digest.update(f"w\0{init.data_type}\0(4096,)\0".encode() + weight.tobytes())
    model.metadata_props.add(key="tensors_sha256", value=digest.hexdigest())
    onnx.save_model(model, str(path))
    return weight


def test_an_onnx_file_with_the_old_sha256_key_loads_and_a_flipped_byte_is_refused(tmp_path):
    from vggzoo_export.core.integrity import load_onnx

    path = tmp_path / "old.onnx"
    weight = _old_onnx(path)
    load_onnx(path)
    data = bytearray(path.read_bytes())
    start = data.find(weight.tobytes()[:64]) + 8000
    assert start > 8000
    data[start:start + 16] = bytes(b ^ 0xFF for b in data[start:start + 16])
    path.write_bytes(bytes(data))
    with pytest.raises(DamagedArtifactError, match=r"old\.onnx: ONNX file is damaged: it "
                                                   r"records SHA-256"):
        load_onnx(path)
