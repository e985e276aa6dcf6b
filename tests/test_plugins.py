"""Plugins extend vggzoo through pluggy hooks and the ``vggzoo`` entry-point group."""

import os
import subprocess
import sys
import textwrap
import types

import pytest

import vggzoo
from vggzoo.errors import DuplicateNameError, UnknownNameError
from vggzoo.plugins import VggzooPluginWarning
from vggzoo.plugins.testing import TINY_WIDTH, plugin_registered


def _builder(**kwargs):
    return vggzoo.VGG([8, "M", 8, "M", 8, "M", 8, "M", 8, "M"], **kwargs)


def _model_plugin(name, model="tiny8", **info):
    @vggzoo.hookimpl
    def vggzoo_register_models(register):
        register(model, _builder, **info)

    return types.SimpleNamespace(__name__=name, vggzoo_register_models=vggzoo_register_models)


def test_unknown_model_lists_close_matches():
    with pytest.raises(UnknownNameError, match=r"unknown model 'vgg61'.*Did you mean: .*vgg16"):
        vggzoo.create("vgg61")
    with pytest.raises(LookupError, match="vgg16_bn"):
        vggzoo.create("vgg16bn")


def test_plugin_registered_in_code_adds_and_removes_a_model(fresh_plugins):
    plugin = _model_plugin("my_models", aliases=["t8"], config="custom")
    with plugin_registered(plugin):
        assert "tiny8" in vggzoo.list_models("tiny*")
        model = vggzoo.create("t8", fully_conv=True, num_classes=3)
        assert model.score_map(vggzoo_input(256)).shape == (1, 3, 2, 2)
        assert vggzoo.model_info("tiny8").source == "my_models"
    assert vggzoo.list_models("tiny*") == []
    with pytest.raises(UnknownNameError):
        vggzoo.create("t8")


def vggzoo_input(size):
    import torch

    return torch.zeros(1, 3, size, size)


def test_a_taken_name_names_both_sources(fresh_plugins):
    with pytest.raises(DuplicateNameError, match="'vgg16' from 'impostor'.*'vggzoo.models.builtin'"):
        vggzoo.plugins.register(_model_plugin("impostor", model="vgg16"))
    assert vggzoo.model_info("vgg16").source == "vggzoo.models.builtin"
    with pytest.raises(DuplicateNameError, match="alias 'D'|name 'D'"):
        vggzoo.plugins.register(_model_plugin("alias-thief", aliases=["D"]))


def test_a_failing_hook_leaves_nothing_behind(fresh_plugins):
    @vggzoo.hookimpl
    def vggzoo_register_models(register):
        register("half_done", _builder)
        raise RuntimeError("boom")

    plugin = types.SimpleNamespace(__name__="flaky", vggzoo_register_models=vggzoo_register_models)
    with pytest.raises(RuntimeError, match="boom"):
        vggzoo.plugins.register(plugin)
    assert "half_done" not in vggzoo.list_models()


def test_misspelled_hook_is_caught_by_check_pending(fresh_plugins):
    @vggzoo.hookimpl
    def vggzoo_register_model(register):  # missing "s"
        register("never", _builder)

    plugin = types.SimpleNamespace(__name__="typo", vggzoo_register_model=vggzoo_register_model)
    with pytest.raises(Exception, match="vggzoo_register_model"):
        vggzoo.plugins.register(plugin)
    assert "never" not in vggzoo.list_models()


# -- real entry points -------------------------------------------------------

PLUGIN_SOURCE = textwrap.dedent('''
    import vggzoo

    def build(**kwargs):
        return vggzoo.VGG([8, "M", 8, "M", 8, "M", 8, "M", 8, "M"], **kwargs)

    @vggzoo.hookimpl
    def vggzoo_register_models(register):
        register("ep_tiny", build, config="tiny", description="from an entry point")
''')


def _make_distribution(root, dist, module, source, entry_name):
    (root / f"{module}.py").write_text(source)
    info = root / f"{dist.replace('-', '_')}-1.2.3.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {dist}\nVersion: 1.2.3\n")
    (info / "entry_points.txt").write_text(f"[vggzoo]\n{entry_name} = {module}\n")


@pytest.fixture
def plugin_path(tmp_path, monkeypatch, fresh_plugins):
    _make_distribution(tmp_path, "vggzoo-eptiny", "eptiny_plugin", PLUGIN_SOURCE, "eptiny")
    _make_distribution(tmp_path, "vggzoo-broken", "broken_plugin",
                       "raise ImportError('needs libfoo')\n", "broken")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(tmp_path), *sys.path]))
    vggzoo.plugins.reset()
    return tmp_path


def test_entry_point_plugin_is_found_and_a_broken_one_is_skipped(plugin_path):
    with pytest.warns(VggzooPluginWarning, match=r"'broken'.*vggzoo-broken 1\.2\.3.*needs libfoo"):
        names = vggzoo.list_models("ep_*")
    assert names == ["ep_tiny"]
    assert vggzoo.create("ep_tiny", num_classes=5, width_mult=TINY_WIDTH).num_classes == 5
    records = {r.name: r for r in vggzoo.plugins.records()}
    assert records["eptiny"].distribution == "vggzoo-eptiny" and records["eptiny"].version == "1.2.3"
    assert records["eptiny"].registered == {"model": ["ep_tiny"]}
    assert records["eptiny"].hooks == ["vggzoo_register_models"]
    assert not records["broken"].ok and "needs libfoo" in records["broken"].error


def _cli(*args, **env):
    return subprocess.run([sys.executable, "-m", "vggzoo", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "200", **env}, timeout=120)


def test_cli_sees_entry_point_plugins_and_reports_failures(plugin_path):
    listed = _cli("list")
    assert listed.returncode == 0, listed.stderr
    assert "ep_tiny" in listed.stdout and "vgg16" in listed.stdout
    assert "vggzoo-broken" in listed.stderr  # the skip warning
    shown = _cli("plugins")
    assert shown.returncode == 0, shown.stderr
    assert "vggzoo-eptiny 1.2.3" in shown.stdout and "ep_tiny" in shown.stdout
    assert "FAILED" in shown.stdout and "needs libfoo" in shown.stdout


def test_autoload_can_be_turned_off(plugin_path):
    result = _cli("list", VGGZOO_DISABLE_PLUGIN_AUTOLOAD="1")
    assert result.returncode == 0
    assert "ep_tiny" not in result.stdout and "vgg16" in result.stdout
    assert "broken" not in result.stderr


def test_one_plugin_can_be_blocked_by_name(plugin_path):
    """Like pytest's -p no:NAME: by entry-point or distribution name."""
    for blocked in ("broken,eptiny", "vggzoo-broken, vggzoo-eptiny"):
        listed = _cli("list", VGGZOO_BLOCK_PLUGINS=blocked)
        assert listed.returncode == 0, listed.stderr
        assert "ep_tiny" not in listed.stdout and "vgg16" in listed.stdout
        assert "needs libfoo" not in listed.stderr  # never imported
        shown = _cli("plugins", VGGZOO_BLOCK_PLUGINS=blocked)
        assert shown.stdout.count("blocked (VGGZOO_BLOCK_PLUGINS)") == 2
        assert "FAILED" not in shown.stdout
    only_broken = _cli("list", VGGZOO_BLOCK_PLUGINS="broken")
    assert "ep_tiny" in only_broken.stdout and "needs libfoo" not in only_broken.stderr


def test_a_plugin_calling_sys_exit_is_skipped_like_any_broken_one(plugin_path):
    _make_distribution(plugin_path, "vggzoo-quitter", "quitter_plugin",
                       "import sys\nprint('quitter: bye')\nsys.exit(3)\n", "quitter")
    _make_distribution(plugin_path, "vggzoo-hook-quitter", "hook_quitter_plugin", textwrap.dedent('''
        import vggzoo

        @vggzoo.hookimpl
        def vggzoo_register_models(register):
            raise SystemExit("stop registering")
    '''), "hook_quitter")
    vggzoo.plugins.reset()
    listed = _cli("list")
    assert listed.returncode == 0, listed.stderr
    assert "ep_tiny" in listed.stdout and "vgg16" in listed.stdout
    assert "vggzoo-quitter" in listed.stderr and "vggzoo-hook-quitter" in listed.stderr
    shown = _cli("plugins")
    assert shown.returncode == 0, shown.stderr
    rows = [line for line in shown.stdout.splitlines() if "quitter" in line]
    assert any("FAILED: called sys.exit(3)" in row for row in rows), shown.stdout
    assert any("FAILED: called sys.exit('stop registering')" in row for row in rows), shown.stdout
    imported = subprocess.run([sys.executable, "-c", "import vggzoo; "
                               "print(sorted(vggzoo.list_models('ep_*')))"],
                              capture_output=True, text=True, timeout=120)
    assert imported.returncode == 0 and "['ep_tiny']" in imported.stdout, imported.stderr


def test_lazy_objects_are_made_on_first_use_only(fresh_plugins, tmp_path, monkeypatch):
    """A plugin's Lazy model builder is imported when a model is built, and
    its Lazy named weights are built when they are first looked up."""
    (tmp_path / "lazy_tiny_builder.py").write_text(textwrap.dedent("""
        import vggzoo

        def build(**kwargs):
            return vggzoo.VGG([8, "M", 8, "M", 8, "M", 8, "M", 8, "M"], **kwargs)
    """))
    monkeypatch.syspath_prepend(str(tmp_path))
    made = []

    def weights():
        from vggzoo.weights.named import NamedWeights
        from vggzoo.data.preprocess import TORCHVISION

        made.append(1)
        return NamedWeights(model="lazytiny", file_name="lazytiny-0123abcd.pth",
                            sha256="0123abcd", preprocessing=TORCHVISION, num_classes=3)

    @vggzoo.hookimpl
    def vggzoo_register_models(register):
        register("lazytiny", vggzoo.plugins.Lazy("lazy_tiny_builder:build"))

    @vggzoo.hookimpl
    def vggzoo_register_weights(register):
        register("lazytiny.my", vggzoo.plugins.Lazy(weights))

    plugin = types.SimpleNamespace(__name__="lazy_plugin", vggzoo_register_models=vggzoo_register_models,
                                   vggzoo_register_weights=vggzoo_register_weights)
    with plugin_registered(plugin):
        assert "lazy_tiny_builder" not in sys.modules and made == []
        model = vggzoo.create("lazytiny", fully_conv=True, num_classes=3)
        assert model.score_map(vggzoo_input(256)).shape == (1, 3, 2, 2)
        assert "lazy_tiny_builder" in sys.modules
        from vggzoo.weights.named import get_weights

        assert get_weights("lazytiny.my")[1].num_classes == 3
        assert get_weights("lazytiny.my")[1].sha256 == "0123abcd" and made == [1]
    sys.modules.pop("lazy_tiny_builder", None)
