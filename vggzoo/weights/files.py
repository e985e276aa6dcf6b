"""Loading and saving weights, safely.

Accepted sources for ``create(..., weights=...)``:

* a ``.safetensors`` file;
* a torchvision-format state dict (``.pth``/``.pt``), read with
  ``torch.load(weights_only=True)``; vggzoo training checkpoints (a dict with
  a ``"model"`` state dict) work too, and DDP's ``module.`` prefix is dropped;
* ``"torchvision"``: torchvision's own ImageNet weights, from the torch hub
  cache (downloaded when the network allows);
* a named weights entry (``"vgg16.tv_in1k"``, see :mod:`vggzoo.weights.named`);
* a training run directory (its ``model.safetensors``).

What a weights file says about itself (:class:`WeightsFacts`: the fields of
the model's facts record, :class:`~vggzoo.models.cfg.PretrainedCfg`, that it
states: architecture, width, class count and names, input channels,
preprocessing, training scale, builder keywords) comes from its
``.safetensors`` metadata or, for a file without any, from
the registered weights whose SHA-256 it has; every entry point reads it
through :func:`read_facts`, so nothing has to be repeated on the command line.

FC and fully-convolutional models share key names, so either kind of file
loads into either form (see :mod:`vggzoo.models.vgg`).
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ..errors import WeightsError
from ..io import RUN_PREVIOUS_WEIGHTS, RUN_WEIGHTS, atomic_path  # the run's weights files
from .checks import check_against_tensors, check_metadata
from .verify import DIGEST_KEY, DIGEST_KEYS, tensors_digest

StateDict = Mapping[str, torch.Tensor]


def read_state_dict(path: str | os.PathLike, *, verify: bool | None = None
                    ) -> dict[str, torch.Tensor]:
    """Tensors of a weights file, without executing any code from it, checked
    against the digest the file records (:mod:`vggzoo.weights.verify`;
    ``verify=False`` or ``VGGZOO_VERIFY=0`` skips that)."""
    from .formats import load_safetensors, load_torch_file

    path = weights_path(path)
    if not path.is_file():
        raise WeightsError(f"weights file {path} does not exist; pass the path of a .pth or "
                           f".safetensors file, a run directory, or named weights "
                           f"(vggzoo.list_models(pretrained=True))")
    if path.suffix == ".safetensors":
        state: Any = load_safetensors(path, verify_digest=verify, fix=_damage_fix(path))[0]
    else:
        state = load_torch_file(path, what="weights file", verify_digest=verify,
                                fix="it must be a torch state dict or a .safetensors file; "
                                    "restore it from a good copy or save it again")
    if isinstance(state, Mapping) and isinstance(state.get("model"), Mapping):
        state = state["model"]  # a vggzoo training checkpoint
    if not isinstance(state, Mapping) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path} holds no state dict (a mapping of names to tensors)")
    return {k.removeprefix("module."): v for k, v in state.items()}


def weights_path(source: str | os.PathLike) -> Path:
    """A weights file, or the ``model.safetensors`` of a run directory."""
    path = Path(source)
    if path.is_dir():
        if not (path / RUN_WEIGHTS).is_file():
            raise WeightsError(f"{path} is a folder without {RUN_WEIGHTS}: pass a finished "
                               f"training run's directory or a weights file")
        return path / RUN_WEIGHTS
    return path


@dataclass(frozen=True)
class WeightsFacts:
    """What weights say about themselves: the fields of the model's facts
    record (:class:`~vggzoo.models.cfg.PretrainedCfg`) they state, and where
    they were read from.  Attributes read a field, ``None`` where the
    weights say nothing (``facts.width_mult``; ``facts.model`` is the
    record's ``name``, ``facts.named`` its ``named_weights``)."""

    source: str
    #: The record's fields these weights state, typed, by field name.
    recorded: Mapping[str, Any] = field(default_factory=dict)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("__") or key in ("source", "recorded"):
            raise AttributeError(key)
        name = _ALIASES.get(key, key)
        if name not in _record_fields():
            raise AttributeError(f"WeightsFacts has no field {key!r}")
        return self.recorded.get(name)

    @classmethod
    def from_metadata(cls, meta: Mapping[str, str], source: str) -> "WeightsFacts":
        """Facts from ``.safetensors`` metadata (string values)."""
        from ..models.cfg import parse_metadata

        return cls(source, parse_metadata(meta, source=source))

    def to_metadata(self) -> dict[str, str]:
        """The ``.safetensors`` metadata that :meth:`from_metadata` reads back."""
        from ..models.cfg import fields_to_metadata

        return fields_to_metadata(self.recorded)

    def agree(self, key: str, given: Any, default: Any = None) -> Any:
        """``given`` when the weights say nothing or the same; the weights'
        value when ``given`` is None; an error naming both when they differ."""
        stored = getattr(self, key)
        if stored is None:
            return default if given is None else given
        if given is None or _same(key, given, stored):
            return stored
        hint = (f"; to fine-tune on {given} classes, load them and call "
                f"model.reset_classifier({given}) (or train --init-from)"
                if key == "num_classes" else "")
        raise WeightsError(f"{self.source} holds {key}={stored} but {key}={given} was asked "
                           f"for: leave {key} out to use the weights' value, or pass other "
                           f"weights{hint}")


#: Older attribute names of :class:`WeightsFacts` for the record's fields.
_ALIASES = {"model": "name", "named": "named_weights"}


def _record_fields() -> frozenset[str]:
    from ..models.cfg import _FIELDS

    return _FIELDS


def _same(key: str, given: Any, stored: Any) -> bool:
    if key == "model":
        from ..plugins.registry import MODELS

        return MODELS.get(given).name == MODELS.get(stored).name
    if key == "width_mult":
        return abs(float(given) - float(stored)) < 1e-9
    return given == stored


def read_facts(source: str | os.PathLike, *, model: str | None = None) -> WeightsFacts:
    """The facts of a weights file, run directory or named weights (any
    ``weights=`` argument, read by :func:`~vggzoo.weights.resolve.resolve_weights`;
    ``model`` names the architecture ``"torchvision"`` means)."""
    from . import named as pretrained
    from .resolve import resolve_weights

    source = resolve_weights(source, model=model)
    if isinstance(source, str):  # named weights
        return pretrained.named_facts(source)
    path = Path(source)
    meta = read_metadata(path)
    check_metadata(meta, str(path))
    facts = WeightsFacts.from_metadata(meta, str(path))
    if facts.preprocessing is None and facts.named is None:
        named = pretrained.identify(path)
        if named is not None:
            return WeightsFacts(str(path), pretrained.named_facts(named).recorded)
    return facts


def read_weights(source: str | os.PathLike | Mapping[str, torch.Tensor] | None, *,
                 model: str | None = None
                 ) -> tuple[dict[str, torch.Tensor] | None, WeightsFacts]:
    """Tensors and facts of any weights argument: a file, a run directory,
    named weights (``vgg16.tv_in1k``; ``"torchvision"`` with ``model``), a
    state dict, or None (no weights)."""
    from . import named as pretrained
    from .resolve import resolve_weights

    source = resolve_weights(source, model=model)
    if source is None:
        return None, WeightsFacts("no weights")
    if isinstance(source, Mapping):
        return dict(source), WeightsFacts("state dict")
    if isinstance(source, str):
        state, _ = pretrained.load_named(source)
        facts = pretrained.named_facts(source)
        if pretrained.get_weights(source)[1].features_only:  # its classifier holds NaN by design: not part of the weights
            state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    else:
        state, facts = read_state_dict(source), read_facts(source)
    check_against_tensors(facts, state)
    return state, facts


def read_metadata(weights: str | os.PathLike) -> dict[str, str]:
    """The metadata of a ``.safetensors`` weights file (empty for other files)."""
    path = Path(weights)
    if path.is_dir():
        path = path / RUN_WEIGHTS
    if path.suffix != ".safetensors" or not path.is_file():
        return {}
    from .formats import read_safetensors_header

    return dict(read_safetensors_header(path, fix=_damage_fix(path)).get("__metadata__") or {})


def _damage_fix(path: Path) -> str:
    """What to do about a damaged weights file: a run's ``model.safetensors``
    names the good one the run kept beside it
    (:data:`~vggzoo.io.RUN_PREVIOUS_WEIGHTS`)."""
    from .formats import WEIGHTS_FIX

    previous = path.with_name(RUN_PREVIOUS_WEIGHTS)
    if path.name != RUN_WEIGHTS or not previous.is_file():
        return WEIGHTS_FIX
    return f"the run kept its previous good weights: use {previous} (e.g. --weights {previous})"


def save_weights(model: nn.Module, path: str | os.PathLike, metadata: dict[str, str] | None = None) -> Path:
    """Write a model's weights as ``.safetensors``, atomically.

    Without ``metadata``, a model made by ``vggzoo.create`` records its
    ``pretrained_cfg`` (:meth:`~vggzoo.models.cfg.PretrainedCfg.facts`), so
    ``create(name, weights=path)`` rebuilds the same model with nothing
    repeated; a given ``metadata`` is written as it is.  The tensors'
    XXH3-128 digest is added to it (:data:`vggzoo.weights.verify.DIGEST_KEY`;
    a given old ``tensors_sha256`` is dropped), so every later load can
    tell a damaged copy.
    """
    from safetensors.torch import save_file

    from ..models.cfg import model_cfg

    path = Path(path)
    cfg = model_cfg(model)
    if metadata is None and cfg is not None:
        metadata = cfg.facts(str(path)).to_metadata()
    tensors = {k: v.detach().contiguous().cpu() for k, v in model.state_dict().items()}
    metadata = {k: v for k, v in (metadata or {}).items() if k not in DIGEST_KEYS.values()}
    metadata[DIGEST_KEY] = tensors_digest(tensors)
    with atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=metadata)
    return path


def load_into(model: nn.Module, state: StateDict, *, source: str) -> None:
    """Load ``state`` into ``model`` with errors that say what does not match.

    A final classifier of another class count is left freshly initialised
    (with a warning), which is what fine-tuning on a new label set wants; a
    model without a head (``num_classes=0``) takes only the trunk.
    """
    own = model.state_dict()
    state = dict(state)
    if not any(k.startswith("classifier.") for k in own):
        state = {k: v for k, v in state.items() if not k.startswith("classifier.")}
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
        name = _model_name(model)
        mismatches = [line.strip() for line in str(exc).splitlines() if "size mismatch" in line]
        shown = "; ".join(mismatches[:3]) + (f" (and {len(mismatches) - 3} more)"
                                             if len(mismatches) > 3 else "")
        raise WeightsError(f"weights from {source} do not fit this model "
                           f"({name}): {shown or exc}. "
                           f"Check the architecture name, width_mult and batch-norm variant "
                           f"match the checkpoint") from exc
    missing = [k for k in result.missing_keys if k not in missing_ok]
    if missing or result.unexpected_keys:
        raise WeightsError(
            f"weights from {source} do not fit this model "
            f"({_model_name(model)}): missing keys "
            f"{missing[:5]}{'...' if len(missing) > 5 else ''}, unexpected keys "
            f"{result.unexpected_keys[:5]}{'...' if len(result.unexpected_keys) > 5 else ''}. "
            f"Is it a checkpoint of another configuration (e.g. vgg16 vs vgg16_bn)?")


def _model_name(model: nn.Module) -> str:
    from ..models.cfg import model_cfg

    cfg = model_cfg(model)
    return cfg.name if cfg is not None else type(model).__name__


def _last_head_index(state: StateDict) -> int | None:
    """Index of the final classifier layer (``classifier.6`` for VGG)."""
    indices = [int(k.split(".")[1]) for k in state
               if k.startswith("classifier.") and k.split(".")[1].isdigit()]
    return max(indices) if indices else None
