"""The public model API: ``create``, ``list_models``, ``model_info``."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from .configs import MIN_INPUT_SIZE
from .errors import WeightsError
from .preprocess import PAPER, TORCHVISION, Preprocessing
from .registry import MODELS
from .weights import load_into, read_metadata, read_state_dict, torchvision_state_dict

WeightsArg = str | os.PathLike | Mapping[str, torch.Tensor] | None
DEFAULT_INPUT_SIZE = (3, 224, 224)


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching an fnmatch pattern.

    >>> list_models("vgg16*")
    ['vgg16', 'vgg16_bn', 'vgg16_c']
    """
    return MODELS.names(pattern)


def create(name: str, *, fully_conv: bool = False, num_classes: int = 1000,
           weights: WeightsArg = None, width_mult: float = 1.0, dropout: float = 0.5,
           **kwargs: Any) -> nn.Module:
    """Build a registered model, optionally loading weights.

    ``name`` may be an alias (``"D"`` is ``vgg16``).  ``weights`` is a file
    (``.pth`` state dict or ``.safetensors``), a state dict, or
    ``"torchvision"``.  The model's ``pretrained_cfg`` records the name,
    input sizes and the preprocessing its weights expect.

    >>> m = create("vgg16", fully_conv=True, width_mult=0.25)
    >>> m.score_map(torch.zeros(1, 3, 384, 384)).shape
    torch.Size([1, 1000, 6, 6])
    """
    entry = MODELS.get(name)
    model = entry.obj(fully_conv=fully_conv, num_classes=num_classes,
                      width_mult=width_mult, dropout=dropout, **kwargs)
    preprocessing: Preprocessing = entry.info.get("preprocessing", PAPER)
    weights_source = None
    model.pretrained_cfg = {"name": entry.name, "config": entry.info.get("config")}
    if weights is not None:
        state, weights_source, preprocessing = _resolve_weights(entry, weights, width_mult,
                                                                preprocessing)
        load_into(model, state, source=weights_source)
    model.pretrained_cfg.update(
        fully_conv=fully_conv, num_classes=num_classes, width_mult=width_mult,
        input_size=DEFAULT_INPUT_SIZE, min_input_size=MIN_INPUT_SIZE,
        preprocessing=preprocessing, weights=weights_source)
    return model


def _resolve_weights(entry, weights: WeightsArg, width_mult: float,
                     default: Preprocessing) -> tuple[Mapping[str, torch.Tensor], str, Preprocessing]:
    if isinstance(weights, Mapping):
        return weights, "state dict", default
    if weights == "torchvision":
        enum_name = entry.info.get("torchvision_weights")
        if not enum_name:
            have = [e.name for e in MODELS.entries() if e.info.get("torchvision_weights")]
            raise WeightsError(f"torchvision has no weights for {entry.name!r}; it has them "
                               f"for {', '.join(have)}")
        if width_mult != 1.0:
            raise WeightsError("torchvision weights need width_mult=1.0")
        return torchvision_state_dict(enum_name), f"torchvision {enum_name}.IMAGENET1K_V1", TORCHVISION
    path = Path(weights)
    return read_state_dict(path), str(path), _file_preprocessing(path, default)


def _file_preprocessing(path: Path, default: Preprocessing) -> Preprocessing:
    """Preprocessing stored in a vggzoo .safetensors file, or known from the
    file name of a torchvision download, else the model's default."""
    stored = read_metadata(path).get("preprocessing")
    if stored:
        return Preprocessing.from_dict(json.loads(stored))
    if path.name in _torchvision_file_names():
        return TORCHVISION
    return default


def _torchvision_file_names() -> set[str]:
    from torchvision.models import get_weight

    names = set()
    for entry in MODELS.entries():
        enum_name = entry.info.get("torchvision_weights")
        if enum_name:
            names.add(Path(get_weight(f"{enum_name}.IMAGENET1K_V1").url).name)
    return names


def to_fully_conv(model: nn.Module) -> nn.Module:
    """The fully-convolutional form of a vggzoo model, sharing its weights'
    values (the model itself when it already is fully convolutional)."""
    cfg = getattr(model, "pretrained_cfg", {})
    if cfg.get("fully_conv"):
        return model
    if "name" not in cfg:
        raise ValueError("to_fully_conv needs a model made by vggzoo.create "
                         "(its pretrained_cfg names the architecture)")
    converted = create(cfg["name"], fully_conv=True, num_classes=cfg["num_classes"],
                       width_mult=cfg["width_mult"], weights=model.state_dict())
    converted.pretrained_cfg.update(preprocessing=cfg["preprocessing"], weights=cfg["weights"])
    return converted.to(next(model.parameters()).device)


@dataclass(frozen=True)
class ModelInfo:
    """Facts about a registered model, measured or from the paper."""

    name: str
    config: str | None
    description: str
    source: str
    aliases: tuple[str, ...]
    params: int
    macs_224: int
    default_input_size: tuple[int, int, int]
    min_input_size: int
    preprocessing: dict[str, Any]
    paper_params: int | None = None
    paper_gmacs: float | None = None
    paper_results: list[dict[str, Any]] = field(default_factory=list)
    torchvision_weights: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def model_info(name: str) -> ModelInfo:
    """Configuration, size, cost, preprocessing and paper results of a model.

    >>> model_info("D").params
    138357544
    """
    from .complexity import measure

    entry = MODELS.get(name)
    params, macs = measure(lambda: entry.obj(fully_conv=False, num_classes=1000,
                                             width_mult=1.0, dropout=0.5))
    paper_pre: Preprocessing = entry.info.get("preprocessing", PAPER)
    preprocessing: dict[str, Any] = {"default": paper_pre.as_dict(),
                                     "mean_rgb_255": paper_pre.mean_rgb_255}
    if entry.info.get("torchvision_weights"):
        preprocessing["torchvision_weights"] = TORCHVISION.as_dict()
    return ModelInfo(
        name=entry.name, config=entry.info.get("config"),
        description=entry.info.get("description", ""), source=entry.source,
        aliases=entry.aliases, params=params, macs_224=macs,
        default_input_size=DEFAULT_INPUT_SIZE, min_input_size=MIN_INPUT_SIZE,
        preprocessing=preprocessing, paper_params=entry.info.get("paper_params"),
        paper_gmacs=entry.info.get("paper_gmacs"),
        paper_results=[asdict(r) for r in entry.info.get("paper_results", [])],
        torchvision_weights=entry.info.get("torchvision_weights"))
