"""`vggzoo-export -o` never replaces a weights file or a training run's own
files: refused in one line before anything is built (a real run)."""

import hashlib

import pytest

import vggzoo
from vggzoo.plugins.testing import write_image_folder
from vggzoo_export.cli.main import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("export-outputs")
    data = write_image_folder(root / "data", train_per_class=2, val_per_class=1)
    vggzoo.train("vgg11", data, root / "run", epochs=1, width_mult=1 / 32, scale="224",
                 batch_size=2, init="glorot", workers=0, progress=False, device="cpu")
    return root / "run"


@pytest.mark.parametrize(("name", "needle"), [
    ("model.safetensors", "names a weights file"), ("other.pth", "names a weights file"),
    ("config.json", "file of the training run"), ("checkpoints/last.onnx", "training run")])
def test_export_output_on_a_run_or_weights_file_is_refused(run, capsys, name, needle):
    before = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in run.rglob("*") if p.is_file()}
    assert main(["--weights", str(run), "-o", str(run / name)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and needle in err and "Traceback" not in err, err
    after = {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in run.rglob("*") if p.is_file()}
    assert after == before


def test_export_through_a_symlink_keeps_the_link_and_a_fifo_is_refused(run, tmp_path, capsys):
    import os

    import onnx

    real, link = tmp_path / "real.onnx", tmp_path / "link.onnx"
    real.write_bytes(b"old")
    link.symlink_to(real)
    assert main(["--weights", str(run), "-o", str(link)]) == 0
    assert link.is_symlink() and onnx.load(str(real)).graph.node
    fifo = tmp_path / "m.onnx"
    os.mkfifo(fifo)
    assert main(["--weights", str(run), "-o", str(fifo)]) == 2
    assert "FIFO or device" in capsys.readouterr().err and fifo.is_fifo()
