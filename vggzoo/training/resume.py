"""Resuming a run: what a resumed run may change, the merge of the stored
config with the options asked for, and the checks that a checkpoint fits
the data and processes it resumes on."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .checkpoint import LAST, load_checkpoint
from .config import FIELDS, TrainConfig, read_config_file
from .rundir import CHECKPOINT_DIR

#: Options a resumed run may change; everything else comes from its checkpoint.
#: ``data`` may move, as long as it holds the same classes.
RESUME_OVERRIDES = ("epochs", "workers", "progress", "max_steps", "checkpoint_every", "data")


def resumed_config(out: str | os.PathLike, config: str | os.PathLike | None,
                   asked: dict[str, Any]) -> TrainConfig:
    """The config of the run in ``out``, from its last checkpoint, with the
    options in :data:`RESUME_OVERRIDES` that ``asked`` (and the ``config``
    file) change; any other change is an error."""
    stored = load_checkpoint(Path(out) / CHECKPOINT_DIR / LAST)["config"]
    asked = {k: v for k, v in asked.items() if v is not None}
    if config is not None:
        asked.update(read_config_file(config))
    changed = resume_changes(stored, asked)
    if changed:
        raise ConfigError(f"a resumed run keeps its config; cannot change {'; '.join(changed)} "
                          f"(a resume may change only {', '.join(RESUME_OVERRIDES)}); start "
                          f"a new run in another --out for that")
    stored.update({k: v for k, v in asked.items() if k in RESUME_OVERRIDES})
    stored["out"] = str(out)  # the run directory may have moved
    return TrainConfig(**stored)


def resume_changes(stored: dict[str, Any], asked: dict[str, Any]) -> list[str]:
    """``"name: stored -> asked"`` for each run-defining option that ``asked``
    changes (compared after :class:`TrainConfig` normalises both)."""
    unknown = [k for k in asked if k not in FIELDS]
    if unknown:
        raise ConfigError(f"unknown training option(s) {', '.join(unknown)}")
    before = TrainConfig(**stored).as_dict()
    after = TrainConfig(**{**stored, **asked}).as_dict()
    return [f"{k}: {before[k]!r} -> {after[k]!r}" for k in asked
            if k not in RESUME_OVERRIDES and k != "out" and before[k] != after[k]]


def check_resumable(ckpt: dict[str, Any], classes: list[str], world_size: int,
                    data: str) -> None:
    """A checkpoint resumes only on the same classes and number of processes."""
    stored = ckpt.get("classes")
    if stored is not None and list(stored) != classes:
        raise ConfigError(f"cannot resume on {data}: its classes "
                          f"({_names(classes)}) are not the run's ({_names(stored)}); "
                          f"resume with the data the run was started on, or start a new run")
    if len(ckpt["rng"]) != world_size:
        raise ConfigError(f"the checkpoint was written by {len(ckpt['rng'])} process(es); "
                          f"resume with the same number (now {world_size})")


def _names(classes: Sequence[str]) -> str:
    shown = ", ".join(classes[:5])
    return f"{shown}, ... ({len(classes)} in all)" if len(classes) > 5 else shown
