"""Resuming a run: what a resumed run may change, the merge of the stored
config with the options asked for, and the checks that a checkpoint fits
the data and processes it resumes on."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import ConfigError
from .checkpoint import BEST, LAST, RUN_WEIGHTS, load_checkpoint
from .config import FIELDS, TrainConfig, read_config_file
from .rundir import CHECKPOINT_DIR, CONFIG_FILE, existing_run_files

#: Options a resumed run may change; everything else comes from its checkpoint.
#: ``data`` may move, as long as it holds the same classes.
RESUME_OVERRIDES = ("epochs", "workers", "progress", "max_steps", "checkpoint_every", "data")


def resumed_config(out: str | os.PathLike, config: str | os.PathLike | None,
                   asked: dict[str, Any]) -> tuple[TrainConfig, bool]:
    """The config of the run in ``out``, from its last checkpoint, with the
    options in :data:`RESUME_OVERRIDES` that ``asked`` (and the ``config``
    file) change; any other change is an error.  The flag is True for a run
    killed before its first checkpoint: it restarts from scratch with the
    ``config.json`` it wrote when it started."""
    ckpt = _last_checkpoint(Path(out))
    stored = ckpt["config"] if ckpt is not None else _started_config(Path(out))
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
    if ckpt is not None:
        _check_work_left(stored, ckpt, "max_steps" in asked)
    return TrainConfig(**stored), ckpt is None


def _last_checkpoint(out: Path) -> dict[str, Any] | None:
    """The run's last checkpoint; ``None`` for a run that started (it wrote
    its ``config.json``) but was stopped before its first checkpoint."""
    last = out / CHECKPOINT_DIR / LAST
    found = {p.name for p in existing_run_files(out)}
    if not last.is_file() and CONFIG_FILE in found and not found & {BEST, RUN_WEIGHTS}:
        return None
    return load_checkpoint(last)


def _started_config(out: Path) -> dict[str, Any]:
    try:
        stored = json.loads((out / CONFIG_FILE).read_text())
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot restart {out}: its {CONFIG_FILE} cannot be read ({exc}); "
                          f"start a new run with --overwrite") from exc
    if not isinstance(stored, dict):
        raise ConfigError(f"cannot restart {out}: its {CONFIG_FILE} is not a training config; "
                          f"start a new run with --overwrite")
    return stored


def _check_work_left(stored: dict[str, Any], ckpt: dict[str, Any], asked_steps: bool) -> None:
    """A resume must have steps and epochs left to train.  A limit the
    earlier run already reached (it stopped there) no longer applies unless
    asked again; one asked at or below the steps done is an error."""
    done = int(ckpt["step"])
    limit = stored.get("max_steps")
    if limit is not None and limit <= done:
        if asked_steps:
            raise ConfigError(f"the run has already trained {done} optimizer steps; --max-steps "
                              f"{limit} would train none: pass --max-steps N with N > {done}, "
                              f"or leave it out to train to the end")
        stored["max_steps"] = None
    epochs, finished = int(stored.get("epochs") or 0), int(ckpt["epoch"])
    if epochs <= finished and not ckpt.get("batches_done"):
        raise ConfigError(f"the run has already finished {finished} of its {epochs} epoch(s); "
                          f"pass --epochs N with N > {finished} to train it further")


def resume_changes(stored: dict[str, Any], asked: dict[str, Any]) -> list[str]:
    """``"name: stored -> asked"`` for each run-defining option that ``asked``
    changes (compared after :class:`TrainConfig` normalises both)."""
    unknown = [k for k in asked if k not in FIELDS]
    if unknown:
        raise ConfigError(f"unknown training option(s) {', '.join(unknown)}")
    # What a resume may change (workers for this machine, ...) is set first,
    # so a stored value this machine refuses is not an error when changed.
    before = TrainConfig(**{**stored, **{k: v for k, v in asked.items()
                                         if k in RESUME_OVERRIDES}}).as_dict()
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
