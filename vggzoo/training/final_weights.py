"""A finished run's deliverable: the best checkpoint's model as a weights
file that records everything evaluation and fine-tuning need.

Like ``last.pt`` (:mod:`.checkpoint`), ``model.safetensors`` never replaces
its predecessor before the new file has been read back from disk and found
intact (its recorded digest); the good file it replaces is kept as
``previous.safetensors`` (:func:`vggzoo.io.keep_as_previous`), which the
error for a damaged ``model.safetensors`` names."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from torch import nn

from ..models.cfg import PretrainedCfg, model_cfg
from ..data.preprocess import Preprocessing
from ..errors import WeightsError
from ..io import (RUN_PREVIOUS_WEIGHTS, atomic_path, is_known_good, keep_as_previous,
                  mark_known_good)
from ..weights.files import save_weights
from ..weights.formats import load_safetensors, read_safetensors_header
from ..weights.verify import check_tensors, recorded_digest, verification_enabled
from .checkpoint import BEST, RUN_WEIGHTS, load_checkpoint
from .config import TrainConfig


def write_run_weights(net: nn.Module, run_dir: Path, checkpoint_dir: Path, cfg: TrainConfig,
                      classes: list[str], preprocessing: Preprocessing) -> Path:
    """Load the best checkpoint (by val top-1) into ``net``, when there is
    one, and save it as ``run_dir``'s weights with its metadata."""
    best = checkpoint_dir / BEST
    if best.is_file():
        net.load_state_dict(load_checkpoint(best)["model"])
    return save_run_weights(net, run_dir, cfg, classes, preprocessing)


def save_run_weights(net: nn.Module, run_dir: Path, cfg: TrainConfig, classes: list[str],
                     preprocessing: Preprocessing) -> Path:
    """Save ``net`` as ``run_dir``'s weights with its metadata: at every new
    best epoch (so an interrupted run can predict and export) and at the end."""
    weights = run_dir / RUN_WEIGHTS
    # The model's own record (channels, dropout, a plugin builder's keywords)
    # plus what the run adds: its classes, preprocessing and training scale.
    built = model_cfg(net) or PretrainedCfg(name=cfg.model, width_mult=cfg.width_mult)
    metadata = replace(built, num_classes=len(classes), classes=tuple(classes),
                       preprocessing=preprocessing, train_scale=cfg.scale_range.spec).to_metadata()
    # The new file replaces its predecessor only once it reads back intact;
    # the predecessor, when good, is kept as previous.safetensors.
    with atomic_path(weights) as tmp:
        save_weights(net, tmp, metadata=metadata)
        if verification_enabled():
            _verify_written(tmp, weights)
        if weights.is_file() and (not verification_enabled() or _good(weights)):
            keep_as_previous(weights, run_dir / RUN_PREVIOUS_WEIGHTS)
    mark_known_good(weights)
    return weights


def _verify_written(tmp: Path, weights: Path) -> None:
    """Read the new file back from disk and check its tensors against the
    digest it records, before it may replace ``weights``."""
    from safetensors.torch import load_file

    recorded = recorded_digest(read_safetensors_header(tmp).get("__metadata__", {}))
    check_tensors(weights, load_file(str(tmp)), recorded, what="the new weights file (read back)",
                  fix="the disk returned other bytes than were written, so the previous file "
                      "was left in place; check the disk and free space, then resume")


def _good(weights: Path) -> bool:
    """Whether the weights file about to be replaced is worth keeping: this
    process wrote it, or it reads back intact now (an earlier process's)."""
    if is_known_good(weights):
        return True
    try:
        load_safetensors(weights, verify_digest=True)
    except WeightsError:
        return False
    return True
