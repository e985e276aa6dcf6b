"""A finished run's deliverable: the best checkpoint's model as a weights
file that records everything evaluation and fine-tuning need."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from torch import nn

from ..models.cfg import PretrainedCfg, model_cfg
from ..data.preprocess import Preprocessing
from ..weights.files import save_weights
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
    save_weights(net, weights, metadata=replace(
        built, num_classes=len(classes), classes=tuple(classes), preprocessing=preprocessing,
        train_scale=cfg.scale_range.spec).to_metadata())
    return weights
