"""One output check for every command that writes: never over the command's
own inputs or a training run's files, symlinks written through, FIFOs and
character devices streamed, sockets refused; and fusion refuses networks
whose class names differ (real files, a real run)."""

import hashlib
import json
import os
import socket
import threading
from dataclasses import replace
from pathlib import Path

import pytest

import vggzoo
from vggzoo.cli import main
from vggzoo.errors import OutputError, VggzooError
from vggzoo.io import atomic_path, check_writable
from vggzoo.plugins.testing import write_image_folder

W = 1 / 32


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A real one-epoch run on a tiny image folder: (run dir, data dir)."""
    root = tmp_path_factory.mktemp("outputs")
    data = write_image_folder(root / "data", train_per_class=2, val_per_class=1)
    vggzoo.train("vgg11", data, root / "run", epochs=1, width_mult=W, scale="224", batch_size=2,
                 init="glorot", workers=0, progress=False, device="cpu")
    return root / "run", data


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _predict(run_dir, image, *extra):
    return main(["predict", str(image), "--weights", str(run_dir), "--scales", "224",
                 "--no-progress", *extra])


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err
    return err


def test_predict_never_writes_over_an_input_image_or_the_runs_weights(run, capsys):
    run_dir, data = run
    image = next((data / "val" / "class0").iterdir())
    for target, needle in ((image, "also an input"), (run_dir / "model.safetensors", "run"),
                           (data / "val" / "class1" / "new.png", "input folder")):
        before = _digest(image), _digest(run_dir / "model.safetensors")
        flag = "--json" if target.suffix != ".png" else "--csv"
        assert _predict(run_dir, data / "val" if "input folder" in needle else image,
                        flag, str(target)) == 2
        _one_line_error(capsys, needle, flag)
        assert (_digest(image), _digest(run_dir / "model.safetensors")) == before
    assert not (data / "val" / "class1" / "new.png").exists()


def test_data_stats_never_replaces_a_runs_config_or_an_image(run, capsys):
    run_dir, data = run
    config = (run_dir / "config.json").read_text()
    assert main(["data", "stats", str(data), "--out", str(run_dir / "config.json")]) == 2
    _one_line_error(capsys, "file of the training run", "--out")
    image = next((data / "train" / "class0").iterdir())
    assert main(["data", "stats", str(data), "--out", str(image)]) == 2
    _one_line_error(capsys, "input folder")
    assert (run_dir / "config.json").read_text() == config
    assert main(["data", "stats", str(data), "--out", str(run_dir / "stats.json")]) == 0  # a new name


def test_a_symlinked_output_is_written_through_the_link(run, tmp_path):
    run_dir, data = run
    real, link = tmp_path / "real.json", tmp_path / "link.json"
    real.write_text("old")
    link.symlink_to(real)
    assert _predict(run_dir, next((data / "val" / "class0").iterdir()), "--json", str(link)) == 0
    assert link.is_symlink() and json.loads(real.read_text())["predictions"]


def test_a_fifo_output_gets_the_file_as_a_stream(run, tmp_path):
    run_dir, data = run
    fifo = tmp_path / "out.fifo"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()), daemon=True)
    reader.start()
    assert _predict(run_dir, next((data / "val" / "class0").iterdir()), "--json", str(fifo)) == 0
    reader.join(timeout=30)
    assert fifo.is_fifo() and json.loads(received[0])["predictions"]


def test_a_socket_is_refused_before_work(tmp_path, capsys):
    path = tmp_path / "s.sock"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        with pytest.raises(OutputError, match="not a regular file"):
            check_writable(path, "--json")
        with pytest.raises(OutputError, match="not a regular file"):
            with atomic_path(path) as tmp:
                tmp.write_text("x")
    finally:
        server.close()
    assert path.is_socket()


def test_check_writable_refuses_a_runs_checkpoints_and_a_named_input(run, tmp_path):
    run_dir, _ = run
    with pytest.raises(OutputError, match="file of the training run"):
        check_writable(run_dir / "checkpoints" / "x.pt", "-o")
    source = tmp_path / "in.txt"
    source.write_text("x")
    with pytest.raises(OutputError, match="also an input"):
        check_writable(tmp_path / "." / "in.txt", "-o", inputs=[source])
    assert check_writable(run_dir / "model.onnx", "-o") == run_dir / "model.onnx"


def _weights_with_classes(path, classes):
    from vggzoo.models.cfg import model_cfg
    from vggzoo.weights.files import save_weights

    net = vggzoo.create("vgg11", num_classes=len(classes), width_mult=W)
    facts = replace(model_cfg(net), classes=list(classes), train_scale="224")
    save_weights(net, path, metadata=facts.to_metadata())
    return path


def test_fusing_networks_whose_class_names_differ_is_an_error(run, tmp_path, capsys):
    _, data = run
    a = _weights_with_classes(tmp_path / "a.safetensors", ["class0", "class1"])
    b = _weights_with_classes(tmp_path / "b.safetensors", ["class1", "class0"])
    with pytest.raises(VggzooError, match="class names differ"):
        vggzoo.evaluate(weights=a, fuse=[b], data=data / "val", scales=[224])
    assert main(["eval", "--weights", str(a), "--fuse", str(b), "--data", str(data / "val"),
                 "--scales", "224"]) == 2
    _one_line_error(capsys, "class 0 is 'class1'", "'class0'")
    same = _weights_with_classes(tmp_path / "c.safetensors", ["class0", "class1"])
    assert vggzoo.evaluate(weights=a, fuse=[same], data=data / "val", scales=[224]).images == 2


def _other_run(tmp_path, run_dir):
    """A copy of the run's files in another folder: a second run whose plots are its own."""
    other = tmp_path / "other"
    (other / "checkpoints").mkdir(parents=True)
    for name in ("config.json", "metrics.jsonl"):
        (other / name).write_bytes((run_dir / name).read_bytes())
    (other / "loss.png").write_bytes(b"the other run's own curve")
    return other


def test_plot_out_never_replaces_another_runs_files_or_the_metrics(run, tmp_path, capsys):
    run_dir, _ = run
    other = _other_run(tmp_path, run_dir)
    assert main(["plot", str(run_dir), "--out", str(other)]) == 2
    _one_line_error(capsys, "file of the training run", "--out")
    assert (other / "loss.png").read_bytes() == b"the other run's own curve"
    assert not (other / "error.png").exists()  # refused before any plot was drawn
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / "loss.png").symlink_to(run_dir / "metrics.jsonl")  # would write through the link
    metrics = _digest(run_dir / "metrics.jsonl")
    assert main(["plot", str(run_dir), "--out", str(linked)]) == 2
    _one_line_error(capsys, "also an input of this command", "metrics.jsonl")
    assert _digest(run_dir / "metrics.jsonl") == metrics
    assert not (linked / "error.png").exists()


def test_plot_out_is_checked_before_work_and_the_run_replaces_its_own_plots(run, tmp_path,
                                                                               capsys):
    run_dir, _ = run
    not_a_folder = tmp_path / "notes.txt"
    not_a_folder.write_text("keep")
    assert main(["plot", str(run_dir), "--out", str(not_a_folder)]) == 2
    _one_line_error(capsys, "is a file, not a folder")
    assert not_a_folder.read_text() == "keep"
    blocked = tmp_path / "blocked"
    (blocked / "error.png").mkdir(parents=True)  # a folder where a plot must go
    assert main(["plot", str(run_dir), "--out", str(blocked)]) == 2
    _one_line_error(capsys, "is a folder")
    assert not (blocked / "loss.png").exists()
    for _ in range(2):  # the run's own plots: written, then replaced, in place
        assert main(["plot", str(run_dir)]) == 0
    assert (run_dir / "loss.png").read_bytes()[:4] == b"\x89PNG"
    assert not list(run_dir.glob(".*.tmp"))
