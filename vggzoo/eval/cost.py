"""Multiply-accumulates of the network calls a protocol made.

Counted on the ``meta`` device from the architecture (no memory, no real
compute), per input size, so the number is the same whichever backend ran
the network.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping

import torch

from ..models.cfg import PretrainedCfg
from ..models.complexity import count_macs
from ..models.factory import create
from ..runtime.base import Runner

MacsPerInput = Callable[[int, int], int]


def macs_counter(facts: PretrainedCfg) -> MacsPerInput:
    """``count(h, w)``: MACs of one fully-convolutional pass on an h x w
    input of the model ``facts`` describe: its channels, width, classes and
    a plugin builder's keywords, not a default build of its name."""
    arguments = {**facts.builder_arguments(), "fully_conv": True}
    with torch.device("meta"):
        net = create(facts.name, **arguments)

    @functools.lru_cache(maxsize=None)
    def count(height: int, width: int) -> int:
        return count_macs(net, (facts.in_chans, height, width))

    return count


def runner_macs_counter(runner: Runner) -> MacsPerInput | None:
    """A counter for a runner whose facts are known (any backend)."""
    return macs_counter(runner.facts) if runner.facts is not None else None


def total_macs(inputs: Mapping[tuple[int, int], int], count: MacsPerInput) -> int:
    """MACs of all inputs, given the number of inputs of each size."""
    return sum(n * count(h, w) for (h, w), n in inputs.items())
