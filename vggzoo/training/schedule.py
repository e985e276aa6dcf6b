"""The paper's optimisation schedule: SGD with momentum and weight decay,
the learning rate divided by 10 when validation top-1 stops improving, and
training over once it has been divided ``lr_drops`` times and stops
improving again."""

from __future__ import annotations

import logging

import torch
from torch import nn

from .config import TrainConfig
from .transfer import param_groups

log = logging.getLogger("vggzoo.train")


def make_optimizer(net: nn.Module, cfg: TrainConfig) -> torch.optim.SGD:
    """SGD over ``net``'s trainable parameters (the head at ``head_lr``)."""
    return torch.optim.SGD(param_groups(net, cfg.lr, cfg.head_lr), lr=cfg.lr,
                           momentum=cfg.momentum, weight_decay=cfg.weight_decay)


def make_scheduler(optimizer: torch.optim.Optimizer,
                   cfg: TrainConfig) -> torch.optim.lr_scheduler.ReduceLROnPlateau:
    """lr / 10 after ``patience`` epochs without a better val top-1 accuracy."""
    return torch.optim.lr_scheduler.ReduceLROnPlateau(
        optimizer, mode="max", factor=0.1, patience=cfg.patience, eps=0.0)


def current_lr(optimizer: torch.optim.Optimizer) -> float:
    return optimizer.param_groups[0]["lr"]


def step_schedule(scheduler: torch.optim.lr_scheduler.ReduceLROnPlateau,
                  optimizer: torch.optim.Optimizer, val_top1_err: float, lr_drops: int,
                  max_drops: int) -> tuple[int, bool]:
    """Step the schedule on an epoch's val top-1 error (percent); returns
    the lr drops so far and whether training is over."""
    lr_before = current_lr(optimizer)
    scheduler.step(100 - val_top1_err)
    stop = False
    if current_lr(optimizer) < lr_before:
        lr_drops += 1
        if lr_drops > max_drops:
            log.info("val top-1 stopped improving after %d lr drops: training done", max_drops)
            stop = True
        else:
            log.info("val top-1 stopped improving: lr divided by 10 (drop %d of %d)",
                     lr_drops, max_drops)
    return lr_drops, stop
