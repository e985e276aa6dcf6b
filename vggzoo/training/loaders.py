"""A run's data: the batch split, the datasets and their transforms, and
the loaders whose order depends on the seed and epoch only.

The same :class:`~torch.utils.data.DistributedSampler` orders the images with
one process or many, so a run's batches do not depend on how many processes
share them, and :class:`ResumableSampler` restarts an epoch part-way through.
"""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.data import DataLoader, DistributedSampler

from ..data.folder import SkippingImageFolder, check_layout, collate_skipping
from ..data.stats import stats_for
from ..data.transforms import train_transform, val_transform
from ..errors import ConfigError, DataError
from ..data.preprocess import Preprocessing
from ..weights.files import WeightsFacts, read_facts
from .config import PREFETCH_BATCHES, TrainConfig
from .world import World

log = logging.getLogger("vggzoo.train")


class ResumableSampler(DistributedSampler):
    """A :class:`DistributedSampler` that can start part-way into an epoch
    (``start`` samples of this process already consumed)."""

    start: int = 0

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(super().__iter__(), self.start, None)

    def __len__(self) -> int:
        return super().__len__() - self.start


def split_batch(cfg: TrainConfig, world_size: int) -> tuple[int, int]:
    """``(micro batch, accumulation steps)``: the effective batch is
    micro batch x processes x accumulation steps, exactly."""
    micro = cfg.micro_batch or max(1, cfg.batch_size // world_size)
    accum, rest = divmod(cfg.batch_size, micro * world_size)
    if accum < 1 or rest:
        raise ConfigError(f"batch size {cfg.batch_size} is not a multiple of micro batch "
                          f"{micro} x {world_size} process(es); choose --micro-batch so that it is")
    return micro, accum


def make_loader(dataset, sampler, *, batch_size: int, workers: int, pin_memory: bool,
                drop_last: bool, generator: torch.Generator | None = None) -> DataLoader:
    """A loader that skips unreadable images (see :func:`collate_skipping`)."""
    return DataLoader(dataset, batch_size=batch_size, sampler=sampler, drop_last=drop_last,
                      num_workers=workers, pin_memory=pin_memory,
                      collate_fn=collate_skipping, generator=generator,
                      persistent_workers=False, prefetch_factor=PREFETCH_BATCHES if workers else None)


def init_facts(cfg: TrainConfig) -> WeightsFacts:
    """What the weights a fine-tuning run starts from record."""
    if cfg.init != "from-checkpoint" or not cfg.init_from:
        return WeightsFacts("no initial weights")
    return read_facts(cfg.init_from)


def first_batch(train_set: SkippingImageFolder, micro: int, init: str) -> torch.Tensor:
    """The first training images (augmented as in epoch 0), one micro-batch,
    for data-driven initializers."""
    count = min(micro, len(train_set))
    images, _, _ = collate_skipping([train_set[i] for i in range(count)])
    if images.numel() == 0:
        raise DataError("the first training images are all unreadable; the initializer "
                        f"{init!r} needs a batch of training inputs")
    return images


@dataclass
class RunData:
    """The datasets, the training sampler and the validation loader of a run."""

    classes: list[str]
    preprocessing: Preprocessing
    train_set: SkippingImageFolder
    val_set: SkippingImageFolder
    sampler: ResumableSampler
    steps_per_epoch: int
    val_loader: DataLoader


def load_run_data(cfg: TrainConfig, world: World, micro: int, accum: int, *,
                  pin_memory: bool) -> RunData:
    """Check ``cfg.data``'s layout and set up its training and validation
    images with the run's statistics and preprocessing."""
    root = Path(cfg.data)
    classes = check_layout(root, cfg.num_classes)
    stats, stats_source = stats_for(root, cfg.stats)
    # Fine-tuning keeps the preprocessing the initial weights were trained with.
    preprocessing = init_facts(cfg).preprocessing or stats.preprocessing
    train_tf = train_transform(cfg.augment, scale=cfg.scale_range, crop=cfg.crop,
                               pca=stats.pca, preprocessing=preprocessing)
    train_set = SkippingImageFolder(root / "train", train_tf, seed=cfg.seed)
    val_set = SkippingImageFolder(
        root / "val", val_transform(scale=cfg.scale_range, crop=cfg.crop,
                                    preprocessing=preprocessing), seed=cfg.seed)
    sampler = ResumableSampler(train_set, num_replicas=world.size, rank=world.rank, shuffle=True,
                               seed=cfg.seed, drop_last=True)
    steps_per_epoch = sampler.num_samples // (micro * accum)
    if steps_per_epoch == 0:
        raise ConfigError(f"{len(train_set)} training images are fewer than one batch of "
                          f"{cfg.batch_size}; lower --batch-size")
    val_loader = make_loader(val_set, range(world.rank, len(val_set), world.size),
                             batch_size=micro, workers=cfg.workers, pin_memory=pin_memory,
                             drop_last=False)
    log.info("data %s: %d classes, %d train / %d val images; statistics: %s; "
             "preprocessing: %s", root, len(classes), len(train_set),
             len(val_set), stats_source, preprocessing.name)
    return RunData(classes, preprocessing, train_set, val_set, sampler, steps_per_epoch,
                   val_loader)
