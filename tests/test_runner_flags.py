"""Backend flags of `vggzoo eval`/`predict` come from the runner plugins:
the core command line knows only torch, a plugin's flag reaches its
factory, picks its backend, and is refused for another backend."""

import os
import subprocess
import sys

import pytest
import torch

import vggzoo
from vggzoo.cli import main
from vggzoo.plugins.hookspecs import hookimpl
from vggzoo.runtime import TorchRunner
from vggzoo.plugins.testing import TINY_WIDTH, plugin_registered, write_image_folder


class FilePlugin:
    """A third-party runner of '.tiny' files with two flags of its own."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def vggzoo_register_runners(self, register):
        def build(*, path: str, scale: float = 1.0, device: str = "cpu") -> TorchRunner:
            self.calls.append({"path": path, "scale": scale, "device": device})
            torch.manual_seed(0)
            model = vggzoo.create("vgg11", num_classes=2, width_mult=TINY_WIDTH)
            return TorchRunner(model)

        register("tinyfile", build, suffix=".tiny", file_option="path",
                 flags={"--tiny": ("path", "a .tiny file"),
                        "--tiny-scale": ("scale", "a number the runner takes")})


@pytest.fixture
def images(tmp_path):
    return write_image_folder(tmp_path / "data", classes=2, size=(40, 48)) / "val"


def test_a_plugin_flag_picks_its_backend_and_reaches_the_factory_typed(images, tmp_path, capsys):
    plugin = FilePlugin()
    (tmp_path / "m.tiny").write_text("")
    with plugin_registered(plugin, name="tiny-runner"):
        code = main(["predict", str(images), "--tiny", str(tmp_path / "m.tiny"),
                     "--tiny-scale", "0.5", "--scales", "224", "--no-progress"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert plugin.calls == [{"path": str(tmp_path / "m.tiny"), "scale": 0.5, "device": "cpu"}]


def test_a_plugin_flag_for_another_backend_is_refused(images, tmp_path, capsys):
    with plugin_registered(FilePlugin(), name="tiny-runner"):
        code = main(["eval", "--model", "vgg11", "--width-mult", str(TINY_WIDTH),
                     "--num-classes", "2", "--data", str(images), "--scales", "224",
                     "--tiny-scale", "2", "--backend", "torch", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "--tiny-scale is an option of the tinyfile backend, not of --backend torch" in err


def test_without_the_export_plugins_the_core_cli_has_no_onnx_flag(tmp_path):
    env = {**os.environ, "VGGZOO_BLOCK_PLUGINS": "vggzoo_export,openvino"}
    done = subprocess.run([sys.executable, "-m", "vggzoo", "eval", "--data", str(tmp_path),
                           "--onnx", "m.onnx"], capture_output=True, text=True, env=env)
    assert done.returncode == 2 and "unrecognized arguments: --onnx" in done.stderr
    shown = subprocess.run([sys.executable, "-m", "vggzoo", "eval", "--help"],
                           capture_output=True, text=True, check=True).stdout
    assert "--onnx FILE" in shown and "backend onnxruntime, openvino" in shown
