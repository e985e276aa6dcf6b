"""Multiply-accumulates of the network calls a protocol made.

Counted on the ``meta`` device from the architecture (no memory, no real
compute), per input size, so the number is the same whichever backend ran
the network.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import torch

from ..models.complexity import count_macs
from ..models.factory import create
from ..runtime.base import Runner

MacsPerInput = Callable[[int, int], int]


def macs_counter(model: str, *, width_mult: float = 1.0, num_classes: int = 1000) -> MacsPerInput:
    """``count(h, w)``: MACs of one fully-convolutional pass on an h x w input."""
    with torch.device("meta"):
        net = create(model, fully_conv=True, width_mult=width_mult, num_classes=num_classes)

    @functools.lru_cache(maxsize=None)
    def count(height: int, width: int) -> int:
        return count_macs(net, (3, height, width))

    return count


def runner_macs_counter(runner: Runner) -> MacsPerInput | None:
    """A counter for a runner whose architecture is known (any backend)."""
    arch = runner.architecture
    if not arch or arch.get("name") is None:
        return None
    return macs_counter(arch["name"], width_mult=arch["width_mult"],
                        num_classes=arch["num_classes"])


def total_macs(inputs: Mapping[tuple[int, int], int], count: MacsPerInput) -> int:
    """MACs of all inputs, given the number of inputs of each size."""
    return sum(n * count(h, w) for (h, w), n in inputs.items())
