"""Loading and saving weights, safely.

Accepted sources for ``create(..., weights=...)``:

* a ``.safetensors`` file;
* a torchvision-format state dict (``.pth``/``.pt``), read with
  ``torch.load(weights_only=True)``; vggzoo training checkpoints (a dict with
  a ``"model"`` state dict) work too, and DDP's ``module.`` prefix is dropped;
* ``"torchvision"``: torchvision's own ImageNet weights, from the torch hub
  cache (downloaded when the network allows).

FC and fully-convolutional models share key names, so either kind of file
loads into either form (see :mod:`vggzoo.model`).
"""

from __future__ import annotations

import os
import urllib.error
import warnings
from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

from .errors import WeightsError
from .io import atomic_path

StateDict = Mapping[str, torch.Tensor]


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """Tensors of a weights file, without executing any code from it."""
    path = Path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist; pass the path of a .pth or "
                           f".safetensors file (or weights='torchvision')")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise WeightsError(f"cannot read weights file {path}: {type(exc).__name__}: {exc}. "
                           f"It must be a torch state dict or a .safetensors file") from exc
    if isinstance(state, Mapping) and isinstance(state.get("model"), Mapping):
        state = state["model"]  # a vggzoo training checkpoint
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path} holds no state dict (a mapping of names to tensors)")
    return {k.removeprefix("module."): v for k, v in state.items()}


def read_metadata(weights: str | os.PathLike) -> dict[str, str]:
    """The metadata of a ``.safetensors`` weights file (empty for other files)."""
    path = Path(weights)
    if path.suffix != ".safetensors" or not path.is_file():
        return {}
    from safetensors import safe_open

    with safe_open(str(path), "pt") as handle:
        return dict(handle.metadata() or {})


def save_weights(model: nn.Module, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> Path:
    """Write a model's weights as ``.safetensors``, atomically."""
    from safetensors.torch import save_file

    path = Path(path)
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path


def torchvision_state_dict(enum_name: str, *, progress: bool = True) -> dict[str, torch.Tensor]:
    """torchvision's IMAGENET1K_V1 weights for ``enum_name`` (e.g. ``VGG16_Weights``).

    Uses the torch hub cache; when the file is missing and cannot be
    downloaded, the error says which file to put where.
    """
    from torchvision.models import get_weight

    weights = get_weight(f"{enum_name}.IMAGENET1K_V1")
    try:
        return weights.get_state_dict(progress=progress, check_hash=True)
    except (urllib.error.URLError, OSError, RuntimeError) as exc:
        target = Path(torch.hub.get_dir()) / "checkpoints" / Path(weights.url).name
        raise WeightsError(
            f"cannot load torchvision weights {enum_name}: {exc}. Without network access, "
            f"download {weights.url} elsewhere and put it at {target} "
            f"(or pass weights='path/to/file.pth')") from exc


def load_into(model: nn.Module, state: StateDict, *, source: str) -> None:
    """Load ``state`` into ``model`` with errors that say what does not match.

    A final classifier of another class count is left freshly initialised
    (with a warning), which is what fine-tuning on a new label set wants.
    """
    own = model.state_dict()
    state = dict(state)
    last = _last_head_index(own)
    head = [k for k in own if k.rsplit(".", 1)[0] == f"classifier.{last}"] if last is not None else []
    if head and all(k in state for k in head) and any(
            state[k].shape[0] != own[k].shape[0] for k in head):
        warnings.warn(f"{source}: classifier has {state[head[0]].shape[0]} classes but the model "
                      f"{own[head[0]].shape[0]}; loading everything else and leaving the last "
                      f"layer freshly initialised", stacklevel=3)
        for k in head:
            state.pop(k)
        missing_ok = set(head)
    else:
        missing_ok = set()
    try:
        result = model.load_state_dict(state, strict=False)
    except RuntimeError as exc:
        mismatches = [line.strip() for line in str(exc).splitlines() if "size mismatch" in line]
        shown = "; ".join(mismatches[:3]) + (f" (and {len(mismatches) - 3} more)"
                                             if len(mismatches) > 3 else "")
        raise WeightsError(f"weights from {source} do not fit this model "
                           f"({model.pretrained_cfg.get('name', type(model).__name__)}): "
                           f"{shown or exc}. "
                           f"Check the architecture name, width_mult and batch-norm variant "
                           f"match the checkpoint") from exc
    missing = [k for k in result.missing_keys if k not in missing_ok]
    if missing or result.unexpected_keys:
        raise WeightsError(
            f"weights from {source} do not fit this model "
            f"({model.pretrained_cfg.get('name', type(model).__name__)}): missing keys "
            f"{missing[:5]}{'...' if len(missing) > 5 else ''}, unexpected keys "
            f"{result.unexpected_keys[:5]}{'...' if len(result.unexpected_keys) > 5 else ''}. "
            f"Is it a checkpoint of another configuration (e.g. vgg16 vs vgg16_bn)?")


def _last_head_index(state: StateDict) -> int | None:
    """Index of the final classifier layer (``classifier.6`` for VGG)."""
    indices = [int(k.split(".")[1]) for k in state
               if k.startswith("classifier.") and k.split(".")[1].isdigit()]
    return max(indices) if indices else None
