"""Triton repositories are safe to write and to serve: a model name is one
folder name, a rewrite replaces the model whole, a killed write leaves
nothing a server would load; the onnxruntime/tensorrt configs pass the real
server's own config parser (up to the backend this wheel lacks)."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from vggzoo.errors import OptionError
from vggzoo_export.cli.main import main as export_main
from vggzoo_export.serve.server import start_server
from vggzoo_export.triton.python_model import write_python_model
from vggzoo_export.triton.repository import write_repository
from vggzoo_export.triton.staging import STAGING_DIR


def files_under(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*"))


@pytest.mark.parametrize("name", ["../escape", "x/y", ".hidden", "", "a b", "/abs"])
def test_model_name_must_be_one_folder_name(tiny_onnx, tmp_path, name):
    repo = tmp_path / "inner" / "repo"
    for backend in ("onnxruntime", "python"):
        with pytest.raises(OptionError, match="not one folder name"):
            write_repository(repo, tiny_onnx, name=name, backend=backend)
    assert files_under(tmp_path) == []


def test_cli_refuses_an_escaping_name_in_one_line(tmp_path, capsys):
    code = export_main(["vgg11", "--width-mult", "0.0625", "--triton", str(tmp_path / "repo"),
                        "--triton-name", "../escape", "--backend", "python"])
    err = capsys.readouterr().err
    assert code == 2 and "not one folder name" in err and "Traceback" not in err
    assert files_under(tmp_path) == []


def test_rewriting_a_model_replaces_it_whole(tiny_onnx, tmp_path):
    repo = tmp_path / "repo"
    write_repository(repo, tiny_onnx, name="m")                       # onnxruntime, 1/model.onnx
    (repo / "m" / "2").mkdir()
    (repo / "m" / "2" / "model.plan").write_bytes(b"stale engine")
    write_python_model(repo, tiny_onnx, name="m", max_batch=4)
    assert files_under(repo / "m") == ["1", "1/manifest.json", "1/model.onnx", "1/model.py",
                                       "config.pbtxt", "labels.txt"]
    assert 'backend: "python"' in (repo / "m" / "config.pbtxt").read_text()
    assert not (repo / STAGING_DIR).exists()


KILLED_WRITE = """
import os, shutil, sys
import vggzoo_export.triton.python_model as pm
real = shutil.copyfile
def copy_then_die(src, dst):
    real(src, dst)
    os._exit(9)            # killed half-way: the model file is written, nothing else
pm.shutil.copyfile = copy_then_die
pm.write_python_model(sys.argv[1], sys.argv[2], name="m", max_batch=4)
"""


def test_a_killed_write_leaves_nothing_loadable(tiny_onnx, tmp_path):
    repo = tmp_path / "repo"
    write_repository(repo, tiny_onnx, name="m")
    old = files_under(repo / "m")
    old_config = (repo / "m" / "config.pbtxt").read_bytes()
    done = subprocess.run([sys.executable, "-c", KILLED_WRITE, str(repo), str(tiny_onnx)],
                          timeout=120)
    assert done.returncode == 9
    # The old model is untouched; the half-written one is in the hidden staging folder.
    assert files_under(repo / "m") == old and (repo / "m" / "config.pbtxt").read_bytes() == old_config
    assert [p.name for p in repo.iterdir() if not p.name.startswith(".")] == ["m"]
    assert any((repo / STAGING_DIR).iterdir())
    write_python_model(repo, tiny_onnx, name="m", max_batch=4)     # the next write cleans up
    assert not (repo / STAGING_DIR).exists()
    assert 'backend: "python"' in (repo / "m" / "config.pbtxt").read_text()


def _make_engine(tmp_path):
    path = Path(__file__).resolve().parents[1] / "trt" / "test_trt_sidecar.py"
    sys.path.insert(0, str(path.parent))
    try:
        spec = importlib.util.spec_from_file_location("trt_sidecar_for_serve", path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
    finally:
        sys.path.remove(str(path.parent))
    return module.make_engine(tmp_path, max_batch=8)[0]


def test_real_server_parses_the_gpu_configs_up_to_the_missing_backend(triton_ready, tiny_onnx,
                                                                      tmp_path):
    repo = tmp_path / "repo"
    write_repository(repo, tiny_onnx, name="tiny_ort", max_batch=8)
    write_repository(repo, _make_engine(tmp_path), name="tiny_trt", backend="tensorrt",
                     max_batch=8)
    # A half-written model in the staging folder is never loaded either.
    (repo / STAGING_DIR / "tiny_ort.x.new" / "1").mkdir(parents=True)
    (repo / STAGING_DIR / "tiny_ort.x.new" / "config.pbtxt").write_text('backend: "python"\n')
    with start_server(repo, timeout=120) as server:
        states = server.states
    assert states == {
        "tiny_ort": "Invalid argument: unable to find backend library for backend 'onnxruntime', try specifying "
                    "runtime on the model configuration.",
        "tiny_trt": "Invalid argument: unable to find backend library for backend 'tensorrt', try specifying "
                    "runtime on the model configuration."}, states
