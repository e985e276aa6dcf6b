"""One error hierarchy: every exception vggzoo and vggzoo-export raise on
purpose is a VggzooError defined in vggzoo.errors (or vggzoo_export.errors),
so the CLIs have one place that turns them into one-line messages."""

import importlib
import inspect
import pkgutil

import pytest
import torch

import vggzoo
import vggzoo.eval.crops
import vggzoo.eval.scales
import vggzoo.data.samples
import vggzoo_export
from vggzoo.errors import VggzooError

ERROR_MODULES = {"vggzoo.errors", "vggzoo_export.errors"}


def _modules(package):
    yield package
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if ".tests" in info.name or info.name.endswith(("__main__", "pytest_plugin")):
            continue
        yield importlib.import_module(info.name)


def test_every_exception_class_lives_in_an_errors_module_and_is_a_vggzoo_error():
    found = []
    for package in (vggzoo, vggzoo_export):
        for module in _modules(package):
            for name, obj in vars(module).items():
                if (inspect.isclass(obj) and issubclass(obj, BaseException)
                        and obj.__module__ == module.__name__ and not name.startswith("_")
                        and not issubclass(obj, Warning)):
                    found.append(obj)
    assert found, "no exception classes found"
    stray = [f"{c.__module__}.{c.__name__}" for c in found if c.__module__ not in ERROR_MODULES]
    assert stray == []
    assert all(issubclass(c, VggzooError) for c in found)


@pytest.mark.parametrize("call", [
    lambda: vggzoo.create("vgg11", width_mult=0),
    lambda: vggzoo.create("vgg11", num_classes=-1),
    lambda: vggzoo.create("vgg11", width_mult=1 / 16, drop_rate=0.1),
    lambda: vggzoo.create("vgg61"),
    lambda: vggzoo.create("vgg11", width_mult=1 / 16, num_classes=0).score_map(
        torch.zeros(1, 3, 224, 224)),
    lambda: vggzoo.to_fully_conv(object()),
    lambda: vggzoo.eval.scales.parse_scales("big"),
    lambda: vggzoo.data.samples.load_photo("nope"),
    lambda: vggzoo.eval.crops.grid_offsets(100, 224),
    lambda: vggzoo.create("vgg11", width_mult=float("nan")),
])
def test_user_mistakes_in_the_api_are_vggzoo_errors(call):
    with pytest.raises(VggzooError):
        call()
