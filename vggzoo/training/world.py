"""Where this process trains: its place among the ``torchrun`` processes,
its device, and the process group DDP needs.

Without ``torchrun`` the world is one process and no process group is made,
so one code path serves one process and many.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..errors import ConfigError


@dataclass(frozen=True)
class World:
    """This process's place among the ``torchrun`` processes."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @classmethod
    def from_env(cls) -> World:
        return cls(int(os.environ.get("RANK", 0)), int(os.environ.get("WORLD_SIZE", 1)),
                   int(os.environ.get("LOCAL_RANK", 0)))

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def select_device(name: str, world: World) -> torch.device:
    """The device ``--device`` names (``auto``: CUDA when visible); under
    ``torchrun`` each process takes the GPU of its local rank."""
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda":
        if not torch.cuda.is_available():
            raise ConfigError("--device cuda but no CUDA GPU is visible; use --device cpu")
        torch.cuda.set_device(world.local_rank)
        return torch.device("cuda", world.local_rank)
    return torch.device(name)


def init_process_group(world: World, device: torch.device) -> bool:
    """Join the ``torchrun`` processes (NCCL on CUDA, else gloo); True when
    this call made the group, so the caller destroys it."""
    if world.size == 1 or dist.is_initialized():
        return False
    dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return True
