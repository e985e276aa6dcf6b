"""vggzoo's own models, registered through the public hook like any plugin."""

from __future__ import annotations

import functools

from torch import nn

from .configs import LAYOUTS, SPECS, VGGSpec
from ..plugins.hookspecs import Register, hookimpl
from .vgg import VGG
from ..data.preprocess import PAPER


def build_vgg(spec: VGGSpec, *, fully_conv: bool = False, num_classes: int = 1000,
              width_mult: float = 1.0, dropout: float = 0.5, in_chans: int = 3) -> nn.Module:
    """Build the network a :class:`VGGSpec` describes."""
    return VGG(LAYOUTS[spec.layout], batch_norm=spec.batch_norm, num_classes=num_classes,
               fully_conv=fully_conv, width_mult=width_mult, dropout=dropout, in_chans=in_chans)


@hookimpl
def vggzoo_register_models(register: Register) -> None:
    for spec in SPECS:
        register(spec.name, functools.partial(build_vgg, spec),
                 config=spec.config, aliases=list(spec.aliases), description=spec.description,
                 batch_norm=spec.batch_norm, paper_params_m=spec.paper_params_m,
                 paper_results=list(spec.paper_results),
                 torchvision_weights=spec.torchvision_weights, preprocessing=PAPER)
