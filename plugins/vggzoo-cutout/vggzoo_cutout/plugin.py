"""Cutout (DeVries & Taylor, 2017) as a vggzoo training augmentation.

One square of side ``size`` (half the crop by default, as Cutout uses on
CIFAR) is filled with zeros at a uniformly random centre; the square may
hang over the border, so near the edges less is erased, exactly as in the
paper.  It runs after the crop and before mean subtraction, so the erased
pixels are black, like Cutout's zero-filled normalised-space patch up to the
mean.  Built on :func:`torchvision.transforms.v2.functional.erase`.
"""

from __future__ import annotations

from typing import Any

import vggzoo
from vggzoo.plugins import Lazy

#: The factory, imported on use: registration runs for every vggzoo command
#: and must not import torchvision.
cutout = Lazy("vggzoo_cutout.transform:cutout")


def __getattr__(name: str) -> Any:
    if name == "Cutout":
        from .transform import Cutout

        return Cutout
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@vggzoo.hookimpl
def vggzoo_register_augmentations(register) -> None:
    register("cutout", cutout, description="Cutout: one random square (half the crop) set to 0")
