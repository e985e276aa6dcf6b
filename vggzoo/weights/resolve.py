"""The one reading of a ``weights=`` argument.

``create(weights=...)``, ``vggzoo.evaluate``/``predict``, training's
``--init-from``, ``vggzoo demo`` and ``vggzoo-export --weights`` all accept
the same things and all pass them through :func:`resolve_weights`, so each
mistake gets the same one-line error everywhere:

* named weights (``"vgg16.tv_in1k"``; found by name, never by a file name);
* ``"torchvision"``: the model's torchvision ImageNet weights (needs the
  model; a model torchvision has no weights for is refused, naming those
  it has);
* a weights file (``.safetensors``, ``.pth``/``.pt``);
* a training run directory (its ``model.safetensors``);
* a state dict, or ``None`` (no weights), passed through.

>>> resolve_weights("torchvision", model="D")
'vgg16.tv_in1k'
"""

from __future__ import annotations

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ..errors import WeightsError
from ..plugins.registry import MODELS, WEIGHTS

#: The ``weights=`` value that means "the model's torchvision ImageNet weights".
TORCHVISION = "torchvision"

Resolved = str | Path | Mapping[str, Any] | None


def resolve_weights(weights: str | os.PathLike | Mapping[str, Any] | None, *,
                    model: str | None = None) -> Resolved:
    """Canonical named weights (a ``str``), a weights file (a ``Path``; a run
    directory gives its ``model.safetensors``), a state dict or ``None``;
    anything else is a :class:`~vggzoo.errors.WeightsError` saying what is
    accepted."""
    from .files import weights_path
    from .named import is_named

    if weights is None or isinstance(weights, Mapping):
        return weights
    if isinstance(weights, str) and weights == TORCHVISION:
        return torchvision_weights_name(model)
    if is_named(weights):
        return WEIGHTS.get(str(weights)).name
    path = Path(weights)
    if path.is_dir() or path.is_file():
        return weights_path(path)
    close = difflib.get_close_matches(str(weights), WEIGHTS.names(), n=1)
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise WeightsError(f"weights file {str(weights)!r} does not exist and is no named weights"
                       f"{hint}: pass the path of a .safetensors/.pth file, a training run "
                       f"directory, named weights (vggzoo list --pretrained) or '{TORCHVISION}'")


def torchvision_weights_name(model: str | None) -> str:
    """The named weights ``weights="torchvision"`` means for ``model``."""
    if model is None:
        raise WeightsError(f"weights='{TORCHVISION}' needs the model name (e.g. --model vgg16): "
                           f"torchvision has weights for {', '.join(_torchvision_models())}")
    entry = MODELS.get(model)
    if not entry.info.get("torchvision_weights"):
        raise WeightsError(f"torchvision has no weights for {entry.name!r}; it has them for "
                           f"{', '.join(_torchvision_models())}")
    return WEIGHTS.get(f"{entry.name}.tv_in1k").name


def _torchvision_models() -> list[str]:
    return [e.name for e in MODELS.entries() if e.info.get("torchvision_weights")]
