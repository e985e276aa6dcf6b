"""Runner options never vanish: a key the backend does not take is an error
naming the close match, and command-line strings arrive as the type the
backend's factory declares."""

import subprocess
import sys

import pytest
import torch

import vggzoo
from vggzoo.cli import main
from vggzoo.errors import OptionError
from vggzoo.plugins.hookspecs import hookimpl
from vggzoo.runtime import TorchRunner, create_runner
from vggzoo.plugins.testing import TINY_WIDTH, plugin_registered, write_image_folder


MODEL = ["--model", "vgg11", "--width-mult", str(TINY_WIDTH), "--num-classes", "2"]


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    torch.manual_seed(0)
    model = vggzoo.create("vgg11", num_classes=2, width_mult=TINY_WIDTH)
    return vggzoo.save_weights(model, tmp_path_factory.mktemp("w") / "w.safetensors")


def test_a_misspelt_option_is_an_error_naming_the_right_one(weights):
    with pytest.raises(OptionError, match=r"backend 'torch' does not take that option: 'precison'\. Did you mean: precision\?"):
        create_runner("torch", model="vgg11", weights=weights, precison="bf16")


def test_command_line_strings_are_converted_by_the_parameter_type(weights):
    runner = create_runner("torch", model="vgg11", weights=weights, channels_last="false",
                           threads="1", batch_pixels="none")
    assert isinstance(runner, TorchRunner)
    assert runner.channels_last is False  # the string "false" is truthy; it must not get through
    assert runner.threads == 1 and runner.batch_pixels is None
    assert create_runner("torch", model="vgg11", weights=weights,
                         channels_last="yes").channels_last is True
    with pytest.raises(OptionError, match=r"channels_last='maybe' is not true/false"):
        create_runner("torch", model="vgg11", weights=weights, channels_last="maybe")
    with pytest.raises(OptionError, match=r"threads='two' is not an integer"):
        create_runner("torch", model="vgg11", weights=weights, threads="two")
    with pytest.raises(OptionError, match=r"precision='int4' is not one of fp32, bf16, fp16"):
        create_runner("torch", model="vgg11", weights=weights, precision="int4")


def test_cli_runner_option_typo_is_a_one_line_error(weights, tmp_path, capsys):
    data = write_image_folder(tmp_path / "data", classes=2, size=(40, 48))
    code = main(["eval", *MODEL, "--weights", str(weights), "--data", str(data / "val"), "--scales", "224",
                 "--runner-option", "chanels_last=false", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "does not take that option: 'chanels_last'. Did you mean: channels_last?" in err
    assert len(err.strip().splitlines()) == 1


def test_cli_runner_option_values_are_typed(weights, tmp_path, capsys):
    data = write_image_folder(tmp_path / "data", classes=2, size=(40, 48))
    common = ["eval", *MODEL, "--weights", str(weights), "--data", str(data / "val"),
              "--scales", "224", "--no-progress"]
    assert main([*common, "--runner-option", "channels_last=false",
                 "--runner-option", "threads=1"]) == 0
    capsys.readouterr()
    assert main([*common, "--runner-option", "threads=two"]) == 2
    err = capsys.readouterr().err
    assert "threads='two' is not an integer" in err and "Traceback" not in err


def test_a_plugin_factory_with_kwargs_still_gets_every_option(weights):
    """Third-party factories that check their own options keep receiving all of them."""
    seen = {}

    def build(**options):
        seen.update(options)
        return TorchRunner(vggzoo.create("vgg11", num_classes=2, width_mult=TINY_WIDTH))

    class Plugin:
        @hookimpl
        def vggzoo_register_runners(self, register):
            register("kwargs-backend", build)

    with plugin_registered(Plugin(), name="kwargs-plugin"):
        create_runner("kwargs-backend", anything="x", threads="2")
    assert seen == {"anything": "x", "threads": "2"}


def test_export_runner_factories_are_checked_without_importing_their_runtime():
    """Registering the export distribution's runners imports neither
    onnxruntime nor the runner modules; only checking options loads them."""
    code = (
        "import sys, vggzoo\n"
        "from vggzoo.plugins.registry import RUNNERS\n"
        "names = RUNNERS.names()\n"
        "assert 'onnxruntime' in names, names\n"
        "assert 'vggzoo_export.onnx.runner' not in sys.modules\n"
        "assert 'onnxruntime' not in sys.modules\n"
        "from vggzoo.runtime.base import runner_options\n"
        "print(sorted(runner_options('onnxruntime')))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "trt_cache_dir" in out.stdout and "onnx" in out.stdout
