"""Training that diverges stops with an error that says what to change,
before NaN reaches the weights or the checkpoints."""

from __future__ import annotations

import math

import torch
import torch.distributed as dist
from torch import nn

from ..errors import DivergedError
from .config import TrainConfig


def diverged(what: str, *, step: int, epoch: int, lr: float, cfg: TrainConfig,
             is_main: bool) -> DivergedError:
    """The error for a run that diverged at optimizer step ``step + 1`` of
    epoch ``epoch + 1``, with the changes that usually cure it."""
    saved = "the checkpoints and weights keep the last finite state" if is_main else ""
    return DivergedError(
        f"training diverged: {what} at optimizer step {step + 1} (epoch "
        f"{epoch + 1}, lr {lr:g}, init {cfg.init}); {saved}. Try a lower --lr "
        f"(e.g. {lr / 10:g}), --init kaiming-input (the default), a model with batch norm"
        f"{', or --amp bf16 instead of fp16' if cfg.amp == 'fp16' else ''}")


def nonfinite_step(step_loss: torch.Tensor, net: nn.Module, scaler: torch.amp.GradScaler,
                   world_size: int) -> str | None:
    """What is not finite before an optimizer step that would write NaN into
    the weights: the accumulated loss or (without a grad scaler, which skips
    such steps by design) the gradients; None when all is finite.  Every
    process reaches the same verdict."""
    bad = ~torch.isfinite(step_loss)
    if not scaler.is_enabled():
        grads = [p.grad for p in net.parameters() if p.grad is not None]
        if grads:
            bad = bad | ~torch.isfinite(torch.nn.utils.get_total_norm(grads))
    bad = bad.to(torch.int32)
    if world_size > 1:
        dist.all_reduce(bad, op=dist.ReduceOp.MAX)
    if not bad.item():
        return None
    loss = step_loss.item()
    return f"non-finite {'loss' if not math.isfinite(loss) else 'gradients'} (loss {loss})"


def weights_finite(net: nn.Module) -> bool:
    return all(bool(torch.isfinite(p).all()) for p in net.parameters())
