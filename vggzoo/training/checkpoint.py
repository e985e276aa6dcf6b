"""Training checkpoints that make a killed run indistinguishable from one that
never stopped.

A checkpoint holds the model, optimizer, lr scheduler and grad scaler state,
the epoch, optimizer step and position inside the epoch (images already
consumed by the sampler), the partial epoch's running sums, every random
number generator (torch CPU and CUDA, Python, NumPy; one set per process for
DDP) and the resolved config.  Writes are atomic (temp file, fsync, rename),
so ``last.pt`` is always a complete checkpoint, and everything in it loads
with ``torch.load(weights_only=True)``.

Every checkpoint records the XXH3-128 digest of its contents
(:func:`vggzoo.weights.verify.contents_digest`; checkpoints of earlier
versions, with a SHA-256 entry, still verify).  A new one is read back
from disk and verified before it replaces anything, and the checkpoint it
replaces is kept as ``previous.pt``: when ``last.pt`` turns out damaged or
truncated on resume, the run resumes from ``previous.pt`` (with a warning
naming both), so one bad write or disk error costs at most one checkpoint
interval.
"""

from __future__ import annotations

import logging
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..errors import ConfigError, DamagedFileError
from ..io import atomic_path, is_known_good, keep_as_previous, mark_known_good
from ..weights.formats import load_torch_file
from ..weights.verify import CHECKPOINT_DIGEST, contents_digest, verification_enabled
from ..weights.files import RUN_WEIGHTS  # noqa: F401  (the run's weights file; named here for imports)

LAST = "last.pt"
BEST = "best.pt"
#: The good checkpoint ``last.pt`` replaced, kept until the next one is verified.
PREVIOUS = "previous.pt"

log = logging.getLogger("vggzoo.train")


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


def save_checkpoint(path: str | Path, contents: dict[str, Any], *,
                    keep_previous: bool = False) -> Path:
    """``torch.save`` to ``path`` atomically, with the contents' digest; the
    new file is read back and verified before it replaces ``path``.  With
    ``keep_previous``, the replaced file becomes :data:`PREVIOUS` when it is
    known good (written or verified by this process), so a damaged
    ``last.pt`` never pushes out the good checkpoint before it."""
    path = Path(path)
    sealed = {**contents, CHECKPOINT_DIGEST: contents_digest(contents)}
    with atomic_path(path) as tmp:
        torch.save(sealed, tmp)
        if verification_enabled():
            load_torch_file(tmp, what="new checkpoint", fix="the disk returned other bytes "
                            "than were written; check the disk and free space, then resume")
        if keep_previous and path.is_file() and (is_known_good(path)
                                                 or not verification_enabled()):
            keep_as_previous(path, path.with_name(PREVIOUS))
    mark_known_good(path)
    return path


def load_checkpoint(path: str | Path, *, verify: bool | None = None) -> dict[str, Any]:
    """A checkpoint written by :func:`save_checkpoint`, read without running
    code from it and verified against its digest.  A damaged or missing
    ``last.pt`` falls back to the :data:`PREVIOUS` checkpoint beside it.
    A file this process already verified, unchanged since (same inode, size
    and modification time), is not hashed again: a resume reads its
    checkpoint twice (the config first, then the state)."""
    path = Path(path)
    previous = path.with_name(PREVIOUS)
    fallback = path.name == LAST and previous.is_file()
    if not path.is_file() and not fallback:
        raise ConfigError(f"cannot resume: {path} does not exist (the run has not written a "
                          f"checkpoint yet; start it without --resume)")
    fix = (f"the run resumes from the previous checkpoint {previous.name} kept beside it"
           if fallback else "restore it from a good copy, or start the run again with "
                            "--overwrite")
    try:
        if not path.is_file():
            raise DamagedFileError(f"checkpoint {path} is missing; {fix}")
        verified = verification_enabled(verify) and is_known_good(path)
        contents = load_torch_file(path, what="checkpoint", fix=fix,
                                   verify_digest=False if verified else verify)
        if verification_enabled(verify):
            mark_known_good(path)
        return contents
    except DamagedFileError as damaged:
        if not fallback:
            raise
        try:
            contents = load_torch_file(previous, what="checkpoint", verify_digest=verify)
        except DamagedFileError as also:
            raise DamagedFileError(f"{damaged}; but {previous.name} is not usable either "
                                   f"({also}): start the run again with --overwrite") from None
        if (path, str(damaged)) not in _WARNED:  # a resume reads the checkpoint twice
            _WARNED.add((path, str(damaged)))
            log.warning("%s: resuming from %s (epoch %s, step %s)", damaged, previous,
                        contents.get("epoch"), contents.get("step"))
        return contents


_WARNED: set[tuple[Path, str]] = set()
