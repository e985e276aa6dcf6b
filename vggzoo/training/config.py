"""A training run's configuration: recipe defaults, then a config file
(JSON or TOML), then explicit options; the resolved result is written to the
run directory as ``config.json`` and stored in every checkpoint."""

from __future__ import annotations

import dataclasses
import difflib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data import PAPER_AUGMENTATIONS
from ..data.scales import TrainScale
from ..errors import ConfigError
from .recipes import DEFAULT_RECIPE, RECIPES


@dataclass
class TrainConfig:
    """Everything that defines a run (defaults: the ``paper-s256`` recipe)."""

    model: str = "vgg11"
    data: str = ""
    out: str = ""
    recipe: str = DEFAULT_RECIPE
    epochs: int = 74
    #: Effective (global) batch: gradients of smaller steps are accumulated to it.
    batch_size: int = 256
    #: Images per forward pass per process (default: batch_size / processes).
    micro_batch: int | None = None
    lr: float = 1e-2
    momentum: float = 0.9
    weight_decay: float = 5e-4
    dropout: float = 0.5
    #: Training scale: "256" or "256:512" (jittering).
    scale: str = "256"
    crop: int = 224
    width_mult: float = 1.0
    #: Default: the number of class folders; a different value is an error.
    num_classes: int | None = None
    init: str = "kaiming-input"
    init_from: str | None = None
    #: std of the ``paper`` initializer (None: 0.01; 0.1 is the literal "variance 1e-2").
    init_std: float | None = None
    augment: list[str] = field(default_factory=lambda: list(PAPER_AUGMENTATIONS))
    #: stats.json from ``vggzoo data stats``; default DATA/stats.json, else ImageNet's.
    stats: str | None = None
    #: "auto": cuda when available.
    device: str = "auto"
    #: None, "bf16" or "fp16" autocast.
    amp: str | None = None
    #: None: on for CUDA, off for CPU.
    channels_last: bool | None = None
    compile: bool = False
    seed: int = 0
    #: torch.use_deterministic_algorithms (bitwise-reproducible resume).
    deterministic: bool = False
    workers: int = 4
    #: Epochs without a better val top-1 before the lr is divided by 10.
    patience: int = 2
    #: Divisions of the lr by 10; training stops when the lr would drop once more.
    lr_drops: int = 3
    #: Also checkpoint every N optimizer steps (0: at epoch ends only).
    checkpoint_every: int = 0
    #: Stop after this many optimizer steps (smoke tests, benchmarks).
    max_steps: int | None = None
    progress: bool = True
    #: Fine-tuning: freeze the trunk ("features") or its layers up to one
    #: ("conv4_3", "features.20"); see :mod:`vggzoo.training.transfer`.
    freeze: str | None = None
    #: Learning rate of the classifier (default: ``lr``).
    head_lr: float | None = None

    def __post_init__(self) -> None:
        for name in ("data", "out", "init_from", "stats"):  # paths are stored as text
            value = getattr(self, name)
            if value is not None:
                setattr(self, name, str(value))
        TrainScale.parse(self.scale)  # fail early on a bad scale
        if self.amp not in (None, "bf16", "fp16"):
            raise ConfigError(f"amp {self.amp!r} is not one of bf16, fp16 (or none)")
        if self.batch_size < 1 or (self.micro_batch is not None and self.micro_batch < 1):
            raise ConfigError("batch_size and micro_batch must be >= 1")

    @property
    def scale_range(self) -> TrainScale:
        return TrainScale.parse(self.scale)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}


def _check_keys(options: dict[str, Any], where: str) -> None:
    for key in options:
        if key not in FIELDS:
            close = difflib.get_close_matches(key, FIELDS, n=3)
            hint = f" Did you mean: {', '.join(close)}?" if close else ""
            raise ConfigError(f"unknown training option {key!r} in {where}.{hint}")


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Options from a ``.json`` or ``.toml`` file."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist")
    text = path.read_text()
    try:
        options = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    except (ValueError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"cannot parse config file {path}: {exc}") from exc
    _check_keys(options, str(path))
    return options


def resolve_config(recipe: str | None = None, config_file: str | Path | None = None,
                   **overrides: Any) -> TrainConfig:
    """Recipe defaults < config file < ``overrides`` (``None`` values ignored).

    >>> resolve_config("paper-s384", model="vgg16", data="d", out="r", init_from="runs/s256").lr
    0.001
    """
    from_file = read_config_file(config_file) if config_file else {}
    explicit = {k: v for k, v in overrides.items() if v is not None}
    _check_keys(explicit, "the options")
    name = recipe or from_file.get("recipe") or DEFAULT_RECIPE
    if name not in RECIPES:
        close = difflib.get_close_matches(name, RECIPES, n=3)
        raise ConfigError(f"unknown recipe {name!r}. Known recipes: {', '.join(RECIPES)}"
                          + (f". Did you mean: {', '.join(close)}?" if close else ""))
    merged = {**RECIPES[name], **from_file, **explicit, "recipe": name}
    chosen = {**from_file, **explicit}
    _fine_tuning(merged, chosen)
    config = TrainConfig(**merged)
    if config.init.startswith("from-") and not config.init_from:
        raise ConfigError(f"recipe {name!r} with init {config.init!r} starts from an earlier run: "
                          f"pass --init-from RUN_DIR (or a .safetensors/.pt file)")
    return config


def _fine_tuning(merged: dict[str, Any], chosen: dict[str, Any]) -> None:
    """``--init-from W`` without ``--init`` starts from W's weights (the head
    reset to the data's class count), and W's architecture and width are the
    run's unless given; given ones must agree with what W records."""
    if not merged.get("init_from"):
        return
    if "init" not in chosen and not str(merged.get("init", "paper")).startswith("from-"):
        merged["init"] = "from-checkpoint"
    if merged.get("init") != "from-checkpoint":
        return
    from ..weights.files import read_facts

    from ..weights.named import is_named
    from ..weights.resolve import TORCHVISION, resolve_weights

    source = merged["init_from"]
    if not (source == TORCHVISION or is_named(source) or Path(source).exists()):
        return  # a run still to be trained (chained recipes): read when training starts
    # "torchvision", named weights, a file or a run directory: the one reading
    resolved = resolve_weights(source, model=merged.get("model"))
    if isinstance(resolved, str):  # named weights ("torchvision" among them) by their name
        merged["init_from"] = resolved
    facts = read_facts(merged["init_from"])
    for key in ("model", "width_mult"):
        value = facts.agree(key, chosen.get(key), merged.get(key))
        if value is not None:
            merged[key] = value
