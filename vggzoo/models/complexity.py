"""Parameter and MAC counts, measured on the ``meta`` device.

Building on ``meta`` allocates no memory, so counting a 138M-parameter model
costs milliseconds; :class:`torch.utils.flop_counter.FlopCounterMode` counts
the real ops, so plugin models get correct numbers without any formula.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


def count_params(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, input_size: tuple[int, int, int] = (3, 224, 224)) -> int:
    """Multiply-accumulates of one forward pass on one image."""
    device = next(model.parameters()).device
    x = torch.zeros((1, *input_size), device=device)
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        model.eval()(x)
    return counter.get_total_flops() // 2


def measure(build: Callable[[], nn.Module],
            input_size: tuple[int, int, int] = (3, 224, 224)) -> tuple[int, int]:
    """(parameters, MACs) of the model ``build()`` returns, without allocating it."""
    with torch.device("meta"):
        model = build()
    return count_params(model), count_macs(model, input_size)
