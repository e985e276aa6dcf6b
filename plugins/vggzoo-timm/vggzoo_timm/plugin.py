"""Registers timm's VGG builders as vggzoo models named ``timm/<arch>``.

Registration runs for every vggzoo command, so it imports neither timm nor
torch: the architectures are listed here (a test checks the list against
``timm.list_models("vgg*")``) and the builder in :mod:`.bridge` is imported
when a model is built.
"""

from __future__ import annotations

import functools
from importlib import metadata

import vggzoo
from vggzoo.plugins import Lazy

PREFIX = "timm/"
#: timm's VGG architectures (``timm.list_models("vgg*")``), with their paper configuration.
ARCHS: dict[str, str] = {
    "vgg11": "A", "vgg11_bn": "A", "vgg13": "B", "vgg13_bn": "B",
    "vgg16": "D", "vgg16_bn": "D", "vgg19": "E", "vgg19_bn": "E",
}
build = Lazy("vggzoo_timm.bridge:build")


@vggzoo.hookimpl
def vggzoo_register_models(register) -> None:
    version = metadata.version("timm")
    for arch, config in ARCHS.items():
        register(f"{PREFIX}{arch}", functools.partial(build, arch), config=config,
                 description=f"timm {version} {arch}", preprocessing=vggzoo.TORCHVISION)
