"""vggzoo's trunk inside the ``lpips`` and ``piq`` packages, offline.

Both packages build their VGG16 from torchvision with downloaded weights
(``lpips.LPIPS(net="vgg")`` calls ``torchvision.models.vgg16(pretrained=True)``;
``piq.ContentLoss("vgg16")`` likewise), so they fail without network access.
Handing them vggzoo's trunk, loaded from a local file, avoids that:

>>> metric = lpips_offline("vgg16-397923af.pth")      # an lpips.LPIPS
>>> loss = piq.ContentLoss(feature_extractor=piq_features(weights="vgg16-397923af.pth"),
...                        layers=piq_layers(["relu2_2"]), weights=[1.0])

``lpips_offline`` builds lpips' model with ``pnet_rand=True`` (a random
torchvision trunk, nothing downloaded; the learned layers come from the lpips
wheel) and swaps its ``.net`` for :class:`LpipsTrunk`.  :func:`piq_features`
is a trunk without in-place ReLUs, so piq's ``conv3_3`` is the real
pre-activation map (with torchvision's trunk piq silently returns relu3_3).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from ..data.preprocess import Preprocessing
from ..models.layers import layer_names
from .features import STAGE_ENDS, FeatureNet

#: No preprocessing: the callers (lpips, piq) normalise before the trunk.
IDENTITY = Preprocessing("identity", (0.0, 0.0, 0.0), (1.0, 1.0, 1.0))


class LpipsTrunk(nn.Module):
    """What ``lpips.LPIPS`` takes as ``.net``: ``net(X)`` -> the five stage
    maps (relu1_2 ... relu5_3) of input lpips has already scaled."""

    def __init__(self, model: str | nn.Module = "vgg16", *, weights: Any = None) -> None:
        super().__init__()
        self.features = FeatureNet(model, STAGE_ENDS, weights=weights, preprocessing=IDENTITY)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.features.maps(x)


def lpips_offline(weights: Any = None, *, model: str | nn.Module = "vgg16",
                  **lpips_kwargs: Any) -> nn.Module:
    """``lpips.LPIPS(net="vgg")`` with vggzoo's trunk (``weights``: a file,
    named weights or a torchvision-format state dict; None: ``vgg16.tv_in1k``
    from the torch hub cache); no download."""
    import lpips

    with warnings.catch_warnings():  # torchvision's "pretrained is deprecated"
        warnings.simplefilter("ignore", UserWarning)
        metric = lpips.LPIPS(net="vgg", pnet_rand=True, verbose=False, **lpips_kwargs)
    metric.net = LpipsTrunk(model, weights=weights)
    return metric


def lpips_reference(state: dict[str, torch.Tensor], **lpips_kwargs: Any) -> nn.Module:
    """``lpips.LPIPS(net="vgg")`` with *its own* trunk (not vggzoo's) holding
    a torchvision-format VGG16 state dict (``features.N.weight``), no
    download: the package's model as published, offline, which is what
    vggzoo's :class:`~vggzoo.perceptual.LPIPS` is measured against."""
    import lpips

    with warnings.catch_warnings():  # torchvision's "pretrained is deprecated"
        warnings.simplefilter("ignore", UserWarning)
        metric = lpips.LPIPS(net="vgg", pnet_rand=True, verbose=False, **lpips_kwargs)
    with torch.no_grad():
        for s in range(1, 6):
            for name, module in getattr(metric.net, f"slice{s}").named_children():
                if isinstance(module, nn.Conv2d):
                    module.weight.copy_(state[f"features.{name}.weight"])
                    module.bias.copy_(state[f"features.{name}.bias"])
    return metric.eval()


def piq_features(model: str | nn.Module = "vgg16", *, weights: Any = None,
                 last: str = "pool5") -> nn.Sequential:
    """The trunk up to ``last`` with torchvision's numbering ('0', '1', ...)
    and no in-place ReLUs, frozen, for piq's ``feature_extractor=``.  It
    takes input normalised as piq does (``mean``/``std`` of the loss)."""
    return FeatureNet(model, [last], weights=weights, preprocessing=IDENTITY).trunk


def piq_layers(names: Sequence[str], model: str = "vgg16") -> list[str]:
    """piq's ``layers=`` for layer names of a built-in model (``relu3_3`` -> ``'15'``)."""
    from ..errors import OptionError
    from ..models.configs import LAYOUTS, SPECS
    from ..plugins.registry import MODELS

    canonical = MODELS.get(model).name
    spec = next((s for s in SPECS if s.name == canonical), None)
    if spec is None:
        raise OptionError(f"{canonical} is not one of vggzoo's built-in VGGs; pass "
                          f"piq the indices of its layers")
    names_of = layer_names(LAYOUTS[spec.layout], batch_norm=spec.batch_norm)
    missing = [n for n in names if n not in names_of]
    if missing:
        raise OptionError(f"{canonical} has no layer(s) {', '.join(missing)}; it has "
                          f"{', '.join(names_of)}")
    return [str(names_of[n]) for n in names]
