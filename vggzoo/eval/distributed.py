"""Sharding the test images across processes started by ``torchrun``.

Each process evaluates every ``world_size``-th image and the integer counts
are summed with ``all_reduce``; since each image is counted by exactly one
process, the errors equal those of a single process.  Counts travel on a
gloo group (CPU tensors), whatever backend the default group uses.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")
_started_here = False


@dataclass
class Shard:
    rank: int = 0
    world_size: int = 1
    group: Any = None

    def sum_ints(self, values: Sequence[int]) -> list[int]:
        return self._reduce(torch.tensor(list(values), dtype=torch.int64), dist.ReduceOp.SUM)

    def sum_floats(self, values: Sequence[float]) -> list[float]:
        return self._reduce(torch.tensor(list(values), dtype=torch.float64), dist.ReduceOp.SUM)

    def max(self, value: float) -> float:
        return self._reduce(torch.tensor([value], dtype=torch.float64), dist.ReduceOp.MAX)[0]

    def gather(self, items: list[T]) -> list[T]:
        """Every process's ``items``, concatenated in rank order."""
        if self.world_size == 1:
            return list(items)
        gathered: list[list[T] | None] = [None] * self.world_size
        dist.all_gather_object(gathered, items, group=self.group)
        return [item for part in gathered for item in part or []]

    def _reduce(self, tensor: torch.Tensor, op: Any) -> list:
        if self.world_size > 1:
            dist.all_reduce(tensor, op=op, group=self.group)
        return tensor.tolist()


def current_shard() -> Shard:
    """This process's shard: the initialised process group, else the one
    ``torchrun`` describes in the environment (initialised here), else the
    whole data set."""
    global _started_here
    if dist.is_available() and not dist.is_initialized() and int(os.environ.get("WORLD_SIZE", "1")) > 1:
        dist.init_process_group("gloo")
        _started_here = True
    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() == 1:
        return Shard()
    return Shard(dist.get_rank(), dist.get_world_size(), _count_group())


def finish() -> None:
    """Tear down the process group if :func:`current_shard` started it.

    The ranks meet at a barrier first: a rank that closed its connections
    while another still read from them made gloo abort the other (SIGABRT).
    """
    global _started_here
    if _started_here and dist.is_initialized():
        dist.barrier(group=_count_group())
        dist.destroy_process_group()
        _count_group.cache_clear()
    _started_here = False


@functools.cache
def _count_group() -> Any:
    # new_group is collective: every rank reaches this on its first evaluation.
    return None if dist.get_backend() == "gloo" else dist.new_group(backend="gloo")
