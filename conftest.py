# The fixtures vggzoo ships for plugin authors (vggzoo.plugins.pytest_plugin). When
# vggzoo is installed, pytest already loaded them through the pytest11 entry
# point of the same name, and this line is a no-op.
pytest_plugins = ["vggzoo.plugins.pytest_plugin"]

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent
#: The README's digits run ("End to end on real data"): a narrow VGG-A with
#: batch norm on scikit-learn's handwritten digits, 3 epochs on two CPU cores.
DIGITS_OPTIONS = dict(width_mult=1 / 16, batch_size=16, scale="224",
                      augment=["scale", "random-crop", "pca-lighting"], epochs=3,
                      channels_last=True)


@pytest.fixture(scope="session")
def digits_data(tmp_path_factory):
    """``examples/make_digits.py``'s ImageFolder of scikit-learn's digits,
    written once per session; tests only read it."""
    spec = importlib.util.spec_from_file_location("make_digits", REPO / "examples" / "make_digits.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.make_digits(tmp_path_factory.mktemp("digits") / "digits")


@pytest.fixture(scope="session")
def digits_run(digits_data, tmp_path_factory):
    """``(data, TrainResult)`` of the README's digits run, trained once per
    test session and shared (the end-to-end test asserts its accuracy; the
    int8 and bf16 agreement tests quantize it)."""
    import torch

    import vggzoo

    torch.manual_seed(0)
    result = vggzoo.train("vgg11_bn", digits_data, tmp_path_factory.mktemp("digits_run") / "run",
                          workers=1, progress=False, device="cpu", **DIGITS_OPTIONS)
    return digits_data, result


# --- The documented examples (README.md and docs/*.md) --------------------
# Every ```python block of the README and of the manual runs as a test
# (Sybil): the blocks of one page run in order in one namespace, in a fresh
# temporary folder, so each page's examples create the files they use.
# `<!-- skip: next -->` before a block leaves it out (say why beside it).
import os
import shutil
import tempfile

from sybil import Sybil
from sybil.parsers.markdown import PythonCodeBlockParser, SkipParser


def _enter_temporary_folder(namespace):
    namespace["_doc_cwd"] = os.getcwd()
    namespace["_doc_tmp"] = tempfile.mkdtemp(prefix="vggzoo-doc-")
    os.chdir(namespace["_doc_tmp"])


def _leave_temporary_folder(namespace):
    os.chdir(namespace["_doc_cwd"])
    shutil.rmtree(namespace["_doc_tmp"], ignore_errors=True)


pytest_collect_file = Sybil(
    parsers=[PythonCodeBlockParser(), SkipParser()],
    patterns=["README.md", "docs/*.md"], excludes=["plugins/*/README.md"],
    setup=_enter_temporary_folder, teardown=_leave_temporary_folder,
).pytest()


def _build_wide_first(*, fully_conv=False, num_classes=1000, width_mult=1.0, dropout=0.5,
                      in_chans=3, first=64):
    """A plugin builder whose own keyword (``first``) changes the network and
    its cost: the facts record must carry it through every hop."""
    import vggzoo

    return vggzoo.VGG([first, "M", 128, "M", 256, "M", 512, "M", 512, "M"],
                      fully_conv=fully_conv, num_classes=num_classes, width_mult=width_mult,
                      dropout=dropout, in_chans=in_chans)


@pytest.fixture
def wide_first():
    """``vgg6-wide`` registered for one test (tests/test_facts.py and
    export/tests/test_facts_export.py)."""
    import types

    import vggzoo
    from vggzoo.plugins.testing import plugin_registered

    @vggzoo.hookimpl
    def vggzoo_register_models(register):
        register("vgg6-wide", _build_wide_first, description="a wider first conv")

    with plugin_registered(types.SimpleNamespace(vggzoo_register_models=vggzoo_register_models)):
        yield "vgg6-wide"
