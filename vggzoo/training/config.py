"""A training run's configuration: recipe defaults, then a config file
(JSON or TOML), then explicit options; the resolved result is written to the
run directory as ``config.json`` and stored in every checkpoint."""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import json
import math
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..data import PAPER_AUGMENTATIONS
from ..data.scales import TrainScale
from ..errors import ConfigError, OptionError
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
    #: DataLoader worker processes (None: 4, or fewer: the CPUs this process may use, the
    #: workers its memory holds).
    workers: int | None = None
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
        defaulted = self.workers is None
        if defaulted:
            self.workers = 0  # checked with the rest, then as many as fit
        check_values(self)
        if defaulted:
            self.workers = min(DEFAULT_WORKERS, usable_cpus(), _workers_fitting(self)[0])

    @property
    def scale_range(self) -> TrainScale:
        return TrainScale.parse(self.scale)

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}
#: Worker processes when none are asked for (fewer on a machine with fewer CPUs).
DEFAULT_WORKERS = 4
#: Batches each DataLoader worker loads ahead (its ``prefetch_factor``).
PREFETCH_BATCHES = 4
#: Narrowest width a layer may have: a one-channel layer carries no features.
MIN_LAYER_CHANNELS = 2


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, as DataLoader counts them)."""
    with contextlib.suppress(AttributeError, OSError):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _bad(name: str, value: Any, valid: str) -> OptionError:
    flag = "--" + name.replace("_", "-")
    return OptionError(f"{name}={value!r} ({flag}) is not allowed: {valid}")


#: Options that count something: whole numbers only.
COUNTS = ("epochs", "batch_size", "max_steps", "patience", "lr_drops", "checkpoint_every",
          "seed", "num_classes", "workers")


def _number(cfg: TrainConfig, name: str, *, low: float, low_open: bool = False,
            high: float | None = None, high_open: bool = True, what: str = "") -> None:
    """``cfg.name`` must be a finite number in the range given (None: unset)."""
    value = getattr(cfg, name)
    if value is None:
        return
    kinds = int if name in COUNTS else (int, float)
    ok = isinstance(value, kinds) and not isinstance(value, bool) and math.isfinite(value)
    ok = ok and (value > low if low_open else value >= low)
    if ok and high is not None:
        ok = value < high if high_open else value <= high
    if not ok:
        bounds = f"{'>' if low_open else '>='} {low:g}"
        if high is not None:
            bounds += f" and {'<' if high_open else '<='} {high:g}"
        kind = "a whole number" if name in COUNTS else "a finite number"
        raise _bad(name, value, f"it must be {kind} {bounds}{what}")


def check_values(cfg: TrainConfig) -> None:
    """Every numeric option within its valid range, before anything is built:
    one :class:`~vggzoo.errors.OptionError` naming the option and the range."""
    for name in ("epochs", "batch_size"):
        _number(cfg, name, low=1, what="; a run trains at least one epoch of one batch")
    _number(cfg, "max_steps", low=1, what=" (or unset: no limit)")
    _number(cfg, "lr", low=0, low_open=True, what=", e.g. 0.01 (the paper's)")
    _number(cfg, "head_lr", low=0, what=" (0 keeps the head as it is; unset: --lr)")
    _number(cfg, "init_std", low=0, low_open=True, what=", e.g. 0.01 (unset: 0.01)")
    _number(cfg, "momentum", low=0, high=1, what=", e.g. 0.9")
    _number(cfg, "weight_decay", low=0, what=", e.g. 5e-4")
    _number(cfg, "dropout", low=0, high=1, what=", e.g. 0.5")
    for name in ("patience", "lr_drops", "checkpoint_every", "seed"):
        _number(cfg, name, low=0, what=" (a count)")
    _number(cfg, "num_classes", low=1, what=" (unset: the number of class folders)")
    _number(cfg, "width_mult", low=0, low_open=True, what=", e.g. 1.0 (the paper's widths)")
    _check_scale_and_crop(cfg)
    _check_width(cfg)
    _check_workers(cfg)


def _workers_fitting(cfg: TrainConfig) -> tuple[int, str]:
    """How many DataLoader workers of this run fit in memory, and why."""
    from ..runtime.memory import loader_worker_bytes, workers_fitting

    batch = cfg.micro_batch or cfg.batch_size  # one process: the largest micro batch
    return workers_fitting(loader_worker_bytes(
        batch, cfg.crop, TrainScale.parse(cfg.scale).smax, prefetch=PREFETCH_BATCHES))


def _check_workers(cfg: TrainConfig) -> None:
    """At most one DataLoader worker per usable CPU, and no more than the
    memory this process may use holds (:mod:`vggzoo.runtime.memory`)."""
    cpus = usable_cpus()
    _number(cfg, "workers", low=0, high=cpus, high_open=False,
            what=f": this machine lets the process use {cpus} CPU(s), and each worker is a "
                 f"process (0: load in the training process)")
    if not cfg.workers:
        return
    fits, why = _workers_fitting(cfg)
    if cfg.workers > fits:
        high = min(cpus, fits)
        raise _bad("workers", cfg.workers,
                   f"{why}, so it must be a whole number from 0 to {high} (0: load in the "
                   f"training process; a smaller --batch-size or --micro-batch needs less)")


def _check_scale_and_crop(cfg: TrainConfig) -> None:
    scale = TrainScale.parse(cfg.scale)
    if scale.smin < 1:
        raise _bad("scale", cfg.scale, "the training scale S is the smallest image side after "
                                       "rescaling: pass S >= the crop, e.g. 256")
    if not isinstance(cfg.crop, int) or not 1 <= cfg.crop <= scale.smin:
        raise _bad("crop", cfg.crop, f"crops are cut from images rescaled to S={scale}, so the "
                                     f"crop must be in [1, {scale.smin}] (the paper's 224)")


def _check_width(cfg: TrainConfig) -> None:
    """No layer of the model narrower than :data:`MIN_LAYER_CHANNELS` at ``width_mult``."""
    from ..models.configs import LAYOUTS
    from ..models.vgg import scaled
    from ..plugins.registry import MODELS

    try:
        layout = LAYOUTS.get(MODELS.get(cfg.model).info.get("config") or "")
    except LookupError:
        return  # an unknown model is reported where it is built
    if not layout:
        return  # a plugin's architecture: its own builder checks its widths
    widths = [item[0] if isinstance(item, tuple) else item for item in layout
              if not isinstance(item, str)]
    narrowest = min(widths)
    if scaled(narrowest, cfg.width_mult) < MIN_LAYER_CHANNELS:
        smallest = (MIN_LAYER_CHANNELS - 0.5) / narrowest
        raise _bad("width_mult", cfg.width_mult,
                   f"{cfg.model}'s narrowest layer ({narrowest} channels at width 1) would have "
                   f"{scaled(narrowest, cfg.width_mult)} channel(s); pass a width >= "
                   f"{math.ceil(smallest * 10000) / 10000:g} (e.g. 0.03125 for quick tests)")


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
    _check_init(config)
    if config.init.startswith("from-") and not config.init_from:
        raise ConfigError(f"recipe {name!r} with init {config.init!r} starts from an earlier run: "
                          f"pass --init-from RUN_DIR (or a .safetensors/.pt file)")
    return config


def _check_init(config: TrainConfig) -> None:
    """The initializer exists, and reads ``--init-from`` when one is given."""
    import inspect

    from ..plugins.registry import INITIALIZERS

    initializer = INITIALIZERS.get(config.init)  # an unknown name: suggestions, before work
    if config.init_from and "checkpoint" not in inspect.signature(initializer.obj).parameters:
        raise OptionError(f"--init-from {config.init_from} is not read by --init {config.init}, "
                          f"only by initializers from a checkpoint (from-checkpoint, from-a): "
                          f"drop --init-from or choose one of those")


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
