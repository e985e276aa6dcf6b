"""Training checkpoints that make a killed run indistinguishable from one that
never stopped.

A checkpoint holds the model, optimizer, lr scheduler and grad scaler state,
the epoch, optimizer step and position inside the epoch (images already
consumed by the sampler), the partial epoch's running sums, every random
number generator (torch CPU and CUDA, Python, NumPy; one set per process for
DDP) and the resolved config.  Writes are atomic (temp file, fsync, rename),
so ``last.pt`` is always a complete checkpoint, and everything in it loads
with ``torch.load(weights_only=True)``.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError
from ..io import atomic_path
from ..weights.files import RUN_WEIGHTS  # noqa: F401  (the run's weights file; named here for imports)

LAST = "last.pt"
BEST = "best.pt"


def rng_state() -> dict[str, Any]:
    """Every RNG this process draws from, as tensors and plain values."""
    kind, keys, pos, has_gauss, cached = np.random.get_state()
    state: dict[str, Any] = {
        "torch": torch.get_rng_state(),
        "python": random.getstate(),
        "numpy": {"kind": kind, "keys": torch.from_numpy(keys.astype(np.int64)), "pos": pos,
                  "has_gauss": has_gauss, "cached": cached},
    }
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore what :func:`rng_state` captured."""
    torch.set_rng_state(state["torch"])
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal), gauss))
    n = state["numpy"]
    np.random.set_state((n["kind"], n["keys"].numpy().astype(np.uint32), n["pos"],
                         n["has_gauss"], n["cached"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_checkpoint(path: str | Path, contents: dict[str, Any]) -> Path:
    """``torch.save`` to ``path`` atomically."""
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(contents, tmp)
    return path


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    """A checkpoint written by :func:`save_checkpoint`, read without running
    code from it."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"cannot resume: {path} does not exist (the run has not written a "
                          f"checkpoint yet; start it without --resume)")
    return torch.load(path, map_location="cpu", weights_only=True)
