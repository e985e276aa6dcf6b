"""What a finished training run hands back."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class TrainResult:
    """What a finished run produced.  Errors are in percent, as in
    :class:`vggzoo.eval.EvalResult` and the paper."""

    run_dir: Path
    weights: Path
    #: Best validation top-1 error, percent.
    best_top1_err: float
    epochs: int
    steps: int
    metrics: list[dict[str, Any]] = field(default_factory=list)
