"""Typed extension points: each hook's ``info`` is a dataclass whose keys
``register`` checks (a misspelt key is refused with the right one named,
never kept silently), each ``obj`` is a Protocol the registry checks, and
the exporter contract's types need only ``vggzoo``."""

import subprocess
import sys
import types

import pytest

import vggzoo
from vggzoo.errors import RegistrationError
from vggzoo.plugins import VggzooPluginWarning
from vggzoo.plugins.registry import INITIALIZERS, MODELS, RUNNERS


def _runner_plugin(name, **info):
    def build(*, onnx: str):
        raise AssertionError("not built at registration")

    @vggzoo.hookimpl
    def vggzoo_register_runners(register):
        register("typo-backend", build, **info)

    return types.SimpleNamespace(__name__=name, vggzoo_register_runners=vggzoo_register_runners)


def test_a_misspelt_info_key_is_refused_with_the_key_it_meant(fresh_plugins):
    with pytest.raises(RegistrationError) as err:
        vggzoo.plugins.register(_runner_plugin("typo", file_opton="onnx", suffix=".onnx"))
    message = str(err.value)
    assert "runner 'typo-backend' from 'typo': unknown info key 'file_opton'" in message
    assert "Did you mean: file_option?" in message and "RunnerHookInfo" in message
    assert "typo-backend" not in RUNNERS  # nothing of the plugin stays


def test_an_installed_plugin_with_a_misspelt_key_is_skipped_with_a_warning(fresh_plugins):
    from vggzoo.plugins import manager

    manager.load()
    record = manager.PluginRecord("vggzoo-typo", distribution="vggzoo-typo")
    with pytest.warns(VggzooPluginWarning, match="unknown info key 'file_opton'.*file_option"):
        manager._add(_runner_plugin("vggzoo-typo", file_opton="onnx"), record, strict=False)
    assert not record.ok and "typo-backend" not in RUNNERS


def test_an_obj_of_the_wrong_kind_and_a_string_of_aliases_are_refused(fresh_plugins):
    @vggzoo.hookimpl
    def vggzoo_register_models(register):
        register("not-a-builder", 42)

    with pytest.raises(RegistrationError, match="obj must be a ModelBuilder.*got int"):
        vggzoo.plugins.register(types.SimpleNamespace(
            __name__="bad_obj", vggzoo_register_models=vggzoo_register_models))

    @vggzoo.hookimpl
    def vggzoo_register_models(register):  # noqa: F811
        register("lettered", lambda **kw: None, aliases="LT")

    with pytest.raises(RegistrationError, match=r"aliases='LT' is one string: write aliases=\['LT'\]"):
        vggzoo.plugins.register(types.SimpleNamespace(
            __name__="bad_alias", vggzoo_register_models=vggzoo_register_models))
    assert "L" not in MODELS and "lettered" not in MODELS


def test_readers_get_typed_info_with_defaults_filled_in():
    onnx = RUNNERS.get("onnxruntime").info
    assert onnx.file_option == "onnx" and onnx.suffix == ".onnx" and "--onnx" in onnx.flags
    assert RUNNERS.get("torch").info.file_option is None
    assert INITIALIZERS.get("glorot").info.needs_batch is False
    assert INITIALIZERS.get("kaiming-input").info.needs_batch is True
    assert MODELS.get("vgg16").info.config == "D" and "D" in MODELS.get("vgg16").info.aliases


def test_an_export_format_needs_only_vggzoo_to_be_written_and_registered():
    code = """
import sys
from pathlib import Path
import vggzoo
from vggzoo.plugins.exporters import Exporter, ExportReport
from vggzoo.plugins.registry import EXPORTERS

def export_text(model, output, /, *, greeting: str = "hi") -> ExportReport:
    Path(output).write_text(greeting)
    return ExportReport(Path(output), [Path(output)], None, parity={}, seconds=0.0)

class Plugin:
    @vggzoo.hookimpl
    def vggzoo_register_exporters(self, register):
        register("text", export_text, suffix=".txt", description="a greeting")

vggzoo.plugins.register(Plugin())
assert isinstance(EXPORTERS.get("text").obj, Exporter)
print(EXPORTERS.get("text").info.suffix, sorted(m for m in sys.modules if m.startswith("vggzoo_export")))
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=120, env={"VGGZOO_DISABLE_PLUGIN_AUTOLOAD": "1",
                                            "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [".txt", "[]"]
