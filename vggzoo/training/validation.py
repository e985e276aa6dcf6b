"""Validation during training: loss and top-1/top-5 error on the run's
validation images (centre crop at the training scale), summed over all
processes with the tie and non-finite rules of
:func:`vggzoo.eval.metrics.correct_at_k`."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable

import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from ..eval.metrics import correct_at_k


@torch.no_grad()
def validate(model: nn.Module, loader: Iterable, *, num_classes: int, device: torch.device,
             memory_format: torch.memory_format,
             autocast: Callable[[], contextlib.AbstractContextManager],
             world_size: int) -> tuple[float, float, float, float]:
    """``(loss sum, top-1 correct, top-k correct, images)`` over every
    process, k = min(5, classes)."""
    model.eval()
    topk = min(5, num_classes)
    totals = torch.zeros(4, dtype=torch.float64, device=device)
    for images, targets, _ in loader:
        if len(targets) == 0:
            continue
        images = images.to(device, non_blocking=True, memory_format=memory_format)
        targets = targets.to(device, non_blocking=True)
        with autocast():
            logits = model(images).float()
        correct = correct_at_k(logits, targets, (1, topk))
        totals += torch.tensor([F.cross_entropy(logits, targets, reduction="sum").item(),
                                correct[1], correct[topk], len(targets)],
                               dtype=torch.float64, device=device)
    if world_size > 1:
        dist.all_reduce(totals)
    loss, top1, top5, count = totals.tolist()
    return loss, top1, top5, count
