"""The public model API: ``create``, ``list_models``, ``model_info``."""

from __future__ import annotations

import dataclasses
import fnmatch
import os
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import torch
from torch import nn

from .configs import MIN_INPUT_SIZE
from ..errors import OptionError, WeightsError
from .cfg import PretrainedCfg, model_cfg
from ..data.preprocess import PAPER, TORCHVISION, Preprocessing
from ..plugins.registry import MODELS
from ..weights.files import load_into, read_weights
from ..weights.verify import deferred_checks

WeightsArg = str | os.PathLike | Mapping[str, torch.Tensor] | None
#: What PretrainedCfg.input_size is for 3 channels: the FC head's one 7x7 fc6 window.
DEFAULT_INPUT_SIZE = (3, MIN_INPUT_SIZE, MIN_INPUT_SIZE)
#: Channels of the first conv at width 1 (conv1_1 of every VGG layout).
FIRST_WIDTH = 64


def list_models(pattern: str | Sequence[str] = "*", *, exclude: str | Sequence[str] = (),
                pretrained: bool = False) -> list[str]:
    """Registered model names matching fnmatch pattern(s), minus ``exclude``.

    ``pretrained=True`` lists named weights instead (``vgg16.tv_in1k``): the
    models that have them, each with its weights' tag; the pattern matches
    either part.

    >>> list_models("vgg16*")
    ['vgg16', 'vgg16_bn', 'vgg16_c']
    >>> list_models("vgg1[16]*", exclude="*_bn", pretrained=True)
    ['vgg11.tv_in1k', 'vgg16.tv_features', 'vgg16.tv_in1k']
    """
    from ..plugins.registry import WEIGHTS

    patterns = [pattern] if isinstance(pattern, str) else list(pattern)
    excludes = [exclude] if isinstance(exclude, str) else list(exclude)
    names = WEIGHTS.names() if pretrained else MODELS.names()

    def matches(name: str, globs: list[str]) -> bool:
        parts = (name, name.split(".")[0]) if pretrained else (name,)
        return any(fnmatch.fnmatchcase(part, g) for part in parts for g in globs)

    return [n for n in names if matches(n, patterns) and not matches(n, excludes)]


#: create()'s own keywords (every builder gets the first four).
CREATE_KEYWORDS = ("fully_conv", "num_classes", "weights", "pretrained", "width_mult", "dropout",
                   "in_chans", "features_only", "out_indices")
#: Keywords of timm and torchvision that mean one of create()'s under another name.
_OTHER_NAMES = {"drop_rate": "dropout", "num_channels": "in_chans"}


def _check_builder_keywords(name: str, builder: Any, kwargs: Mapping[str, Any]) -> None:
    """Refuse keywords the model's builder does not take, with the accepted
    ones, instead of a TypeError from inside it.  timm's and torchvision's
    names for create()'s own keywords (``drop_rate``) point to ours."""
    import difflib

    from ..plugins.options import accepted_options

    try:
        parameters = accepted_options(builder)
    except (TypeError, ValueError):  # a builder without a signature: let it decide
        return
    if parameters is None:  # **kwargs: the builder checks its own
        return
    accepted = sorted({*CREATE_KEYWORDS, *parameters})
    for key in kwargs:
        if key not in parameters:
            hint = _OTHER_NAMES.get(key) or next(iter(difflib.get_close_matches(key, accepted, 1)),
                                                 None)
            raise OptionError(f"create({name!r}) does not take {key}="
                              + (f" (did you mean {hint}=?)" if hint else "")
                              + f"; it takes: {', '.join(accepted)}")


def create(name: str, *, fully_conv: bool | None = None, num_classes: int | None = None,
           weights: WeightsArg = None, pretrained: bool = False, width_mult: float | None = None,
           dropout: float | None = None, in_chans: int | None = None, features_only: bool = False,
           out_indices: int | Sequence[int] | None = None, **kwargs: Any) -> nn.Module:
    """Build a registered model, optionally loading weights.

    ``name`` may be an alias (``"D"`` is ``vgg16``) and may carry a weights
    tag (``"vgg16.tv_in1k"``, used with ``pretrained=True``).  ``weights`` is
    a file (``.pth`` state dict or ``.safetensors``), a training run
    directory, named weights (``"vgg16.tv_in1k"``; ``"torchvision"`` is the
    model's torchvision weights) or a state dict.  ``pretrained=True`` loads
    the model's default named weights.

    Width, class count, input channels, class names and preprocessing come
    from what the weights record (their metadata, or the named weights their
    SHA-256 matches); an argument that disagrees is an error naming both
    values.  Without weights the defaults are width 1, 1000 classes, 3
    channels.  The form (``fully_conv``), ``dropout`` and a plugin builder's
    own keywords default to what the weights record (else FC, 0.5); given
    ones win, as they say how to run the weights, not what they are.
    Everything used ends up in ``model.pretrained_cfg``
    (:class:`~vggzoo.models.cfg.PretrainedCfg`).  ``num_classes=0`` gives a model returning pooled trunk
    features; ``features_only=True`` a module returning the stage maps of
    ``out_indices`` (see :class:`vggzoo.models.vgg.FeatureInfo`).

    >>> m = create("vgg16", fully_conv=True, width_mult=0.25)
    >>> m.score_map(torch.zeros(1, 3, 384, 384)).shape
    torch.Size([1, 1000, 6, 6])
    """
    from ..weights import named

    entry, weights = _entry_and_weights(name, weights, pretrained)
    if named.is_named(weights):  # before any download
        _refuse_head_on_features_only(str(weights), num_classes, features_only)
    with deferred_checks():  # digest checked while the model is built; raised before return
        state, facts = read_weights(weights, model=entry.name)
        facts.agree("model", entry.name)
        _refuse_head_on_features_only(facts.named, num_classes, features_only)
        width_mult, in_chans, num_classes = _agreed_shape(facts, state, width_mult, in_chans,
                                                          num_classes)
        fully_conv = bool(_given_or_recorded(fully_conv, facts.fully_conv, False))
        dropout = float(_given_or_recorded(dropout, facts.dropout, 0.5))
        kwargs = {**dict(facts.builder_kwargs or ()), **kwargs}
        builder_kwargs = dict(kwargs)
        if in_chans != 3:  # builders of plugins written before in_chans need not take it
            kwargs["in_chans"] = in_chans
        _check_builder_keywords(entry.name, entry.obj, kwargs)
        model = entry.obj(fully_conv=fully_conv, num_classes=num_classes, width_mult=width_mult,
                          dropout=dropout, **kwargs)
        model.pretrained_cfg = _pretrained_cfg(
            entry, facts, state, fully_conv=fully_conv, num_classes=num_classes, dropout=dropout,
            width_mult=width_mult, in_chans=in_chans, builder_kwargs=builder_kwargs)
        if state is not None:
            load_into(model, state, source=facts.source)
    if features_only:
        from .vgg import FeatureExtractor

        return FeatureExtractor(model, out_indices)
    return model


def _entry_and_weights(name: str, weights: WeightsArg, pretrained: bool) -> tuple[Any, WeightsArg]:
    """The registry entry ``name`` (alias or ``MODEL.TAG``) names, and the weights to load:
    ``pretrained=True`` turns the tag (or the model's default) into named weights."""
    from ..weights import named

    base, _, tag = name.partition(".")
    entry = MODELS.get(base if tag else name)
    if tag and not pretrained and weights is None:
        raise WeightsError(f"{name!r} names weights: pass pretrained=True to load them, or "
                           f"create({entry.name!r}) for a random model")
    if pretrained:
        if weights is not None:
            raise WeightsError("pass either pretrained=True or weights=..., not both")
        weights = f"{entry.name}.{tag}" if tag else named.default_weights(entry.name)
    return entry, weights


def _agreed_shape(facts: Any, state: Any, width_mult: float | None, in_chans: int | None,
                  num_classes: int | None) -> tuple[float, int, int | None]:
    """Width, input channels and class count: given values checked against what the
    weights record (their metadata or their tensors), else the defaults 1, 3, 1000."""
    width_mult = facts.agree("width_mult", width_mult, _width_mult(state) or 1.0)
    in_chans = facts.agree("in_chans", in_chans, _in_chans(state) or 3)
    if facts.num_classes is not None or num_classes is None:
        num_classes = facts.agree("num_classes", num_classes, _head_classes(state) or 1000)
    # else: a given count and weights that record none; load_into re-initialises
    # an fc8 of another count (with a warning), as fine-tuning wants.
    return width_mult, in_chans, num_classes


def _pretrained_cfg(entry: Any, facts: Any, state: Any, *, num_classes: int | None,
                    **used: Any) -> PretrainedCfg:
    """Everything :func:`create` used, recorded as the model's ``pretrained_cfg``."""
    preprocessing: Preprocessing = facts.preprocessing or entry.info.get("preprocessing", PAPER)
    classes = facts.classes if facts.classes and len(facts.classes) == num_classes else None
    return PretrainedCfg(
        name=entry.name, config=entry.info.get("config"), num_classes=num_classes, **used,
        min_input_size=MIN_INPUT_SIZE, preprocessing=preprocessing,
        classes=classes, train_scale=facts.train_scale,
        weights=None if state is None else facts.source, named_weights=facts.named)


def _refuse_head_on_features_only(named_weights: str | None, num_classes: int | None,
                                  features_only: bool) -> None:
    """Features-only weights (a NaN classifier) never make class scores."""
    from ..weights.named import get_weights

    if named_weights is None or not get_weights(named_weights)[1].features_only:
        return
    if num_classes not in (None, 0):
        raise WeightsError(f"{named_weights} are features-only weights (their classifier holds "
                           f"NaN): they cannot give {num_classes} class scores; pass "
                           f"num_classes=0 or features_only=True, or use other weights for "
                           f"classification")


def _given_or_recorded(given: Any, recorded: Any, default: Any) -> Any:
    return given if given is not None else recorded if recorded is not None else default


def _head_classes(state: Mapping[str, torch.Tensor] | None) -> int | None:
    """fc8's output count in a state dict (None without a head)."""
    if not state:
        return None
    heads = [int(k.split(".")[1]) for k in state
             if k.startswith("classifier.") and k.endswith(".weight") and k.split(".")[1].isdigit()]
    return int(state[f"classifier.{max(heads)}.weight"].shape[0]) if heads else None


def _width_mult(state: Mapping[str, torch.Tensor] | None) -> float | None:
    """Width of a bare state dict from its first conv (64 channels at width
    1 in every VGG layout); a wrong guess fails loading with a clear error."""
    first = state.get("features.0.weight") if state else None
    return int(first.shape[0]) / FIRST_WIDTH if first is not None and first.dim() == 4 else None


def _in_chans(state: Mapping[str, torch.Tensor] | None) -> int | None:
    first = state.get("features.0.weight") if state else None
    return int(first.shape[1]) if first is not None and first.dim() == 4 else None


def to_fully_conv(model: nn.Module) -> nn.Module:
    """The fully-convolutional form of a vggzoo model, sharing its weights'
    values (the model itself when it already is fully convolutional).

    The model's :class:`~vggzoo.models.cfg.PretrainedCfg` is replayed with
    ``fully_conv=True``: every builder argument (input channels, dropout, a
    plugin's keywords) and every fact of its weights carry over.
    """
    cfg = model_cfg(model)
    if cfg is None:
        raise OptionError("to_fully_conv needs a model made by vggzoo.create "
                         "(its pretrained_cfg names the architecture)")
    if cfg.fully_conv:
        return model
    converted = create(cfg.name, **{**cfg.builder_arguments(), "fully_conv": True},
                       weights=model.state_dict())
    converted.pretrained_cfg = dataclasses.replace(cfg, fully_conv=True)
    return converted.to(next(model.parameters()).device)


@dataclass(frozen=True)
class ModelInfo:
    """Facts about a registered model, each labelled with where it comes
    from: ``params`` and ``macs_224`` are counted here (meta device,
    FlopCounterMode); ``paper_*`` are the paper's (Table 2 gives parameters
    in millions and no FLOPs); ``torchvision_*`` are torchvision's weights
    metadata (``num_params``, ``_ops`` in GMACs)."""

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
    paper_params_m: int | None = None
    paper_results: list[dict[str, Any]] = field(default_factory=list)
    torchvision_weights: str | None = None
    torchvision_params: int | None = None
    torchvision_gmacs: float | None = None

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
    tv_meta: dict[str, Any] = {}
    if entry.info.get("torchvision_weights"):
        preprocessing["torchvision_weights"] = TORCHVISION.as_dict()
        from torchvision.models import get_weight

        tv_meta = get_weight(f"{entry.info['torchvision_weights']}.IMAGENET1K_V1").meta
    return ModelInfo(
        name=entry.name, config=entry.info.get("config"),
        description=entry.info.get("description", ""), source=entry.source,
        aliases=entry.aliases, params=params, macs_224=macs,
        default_input_size=DEFAULT_INPUT_SIZE, min_input_size=MIN_INPUT_SIZE,
        preprocessing=preprocessing, paper_params_m=entry.info.get("paper_params_m"),
        paper_results=[asdict(r) for r in entry.info.get("paper_results", [])],
        torchvision_weights=entry.info.get("torchvision_weights"),
        torchvision_params=tv_meta.get("num_params"), torchvision_gmacs=tv_meta.get("_ops"))
