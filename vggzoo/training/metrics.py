"""The run's ``metrics.jsonl``: one strict-JSON line per finished epoch,
appended and fsynced by rank 0, and cut back to the checkpoint's epochs on
resume (:func:`vggzoo.training.plot.read_metrics` reads it)."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from ..io import atomic_path
from .plot import read_metrics
from .rundir import METRICS_FILE


def metrics_line(row: dict[str, Any]) -> str:
    """One ``metrics.jsonl`` line: strict JSON, a non-finite number as null."""
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
             for k, v in row.items()}
    return json.dumps(clean, allow_nan=False) + "\n"


def append_metrics(run_dir: Path, row: dict[str, Any]) -> None:
    """Add one epoch's row, on disk before its checkpoint is written."""
    with open(run_dir / METRICS_FILE, "a") as handle:
        handle.write(metrics_line(row))
        handle.flush()
        os.fsync(handle.fileno())


def truncate_metrics(run_dir: Path, completed_epochs: int) -> None:
    """Drop metrics of epochs the checkpoint does not include (a kill
    between writing an epoch's metrics and its checkpoint)."""
    path = run_dir / METRICS_FILE
    if path.is_file():
        keep = [row for row in read_metrics(run_dir) if row["epoch"] <= completed_epochs]
        with atomic_path(path) as tmp:
            tmp.write_text("".join(metrics_line(row) for row in keep))
