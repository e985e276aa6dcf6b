"""The training loop: the paper's SGD recipe, gradient accumulation to the
effective batch, lr divided by 10 on a validation top-1 plateau, autocast,
channels_last, optional ``torch.compile``, DDP under ``torchrun``, atomic
checkpoints and exact mid-epoch resume.

One code path serves one process and many: without ``torchrun`` the world is
one process and the same :class:`~torch.utils.data.DistributedSampler` gives
the data order, so a run's batches do not depend on how many processes share
them.  Only rank 0 writes files.

>>> result = Trainer(resolve_config(model="vgg11", data="digits", out="runs/a")).fit()
"""

from __future__ import annotations

import contextlib
import itertools
import json
import logging
import math
import os
import random
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from torch import nn
from torch.utils.data import DataLoader, DistributedSampler

from ..data.folder import SkippingImageFolder, check_layout, collate_skipping
from ..data.stats import stats_for
from ..data.transforms import train_transform, val_transform
from ..errors import ConfigError, DataError, DivergedError
from ..eval.metrics import correct_at_k
from ..factory import create
from ..io import atomic_path
from ..registry import INITIALIZERS
from ..weights import WeightsFacts, read_facts, save_weights
from .checkpoint import (BEST, LAST, RUN_WEIGHTS, load_checkpoint, rng_state, save_checkpoint,
                         set_rng_state)
from .config import FIELDS, TrainConfig, read_config_file, resolve_config
from .plot import read_metrics
from .rundir import (CHECKPOINT_DIR, CONFIG_FILE, METRICS_FILE, RunLock, make_run_dir,
                     prepare_new_run)
from .transfer import freeze, param_groups

log = logging.getLogger("vggzoo.train")

#: Options a resumed run may change; everything else comes from its checkpoint.
#: ``data`` may move, as long as it holds the same classes.
RESUME_OVERRIDES = ("epochs", "workers", "progress", "max_steps", "checkpoint_every", "data")


@dataclass
class TrainResult:
    """What a finished run produced.  Errors are in percent, as in
    :class:`vggzoo.eval.EvalResult` and the paper."""

    run_dir: Path
    weights: Path
    #: Best validation top-1 error, percent.
    best_top1_err: float
    epochs: int
    steps: int
    metrics: list[dict[str, Any]] = field(default_factory=list)


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


class ResumableSampler(DistributedSampler):
    """A :class:`DistributedSampler` that can start part-way into an epoch
    (``start`` samples of this process already consumed)."""

    start: int = 0

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(super().__iter__(), self.start, None)

    def __len__(self) -> int:
        return super().__len__() - self.start


class Trainer:
    """Runs one training run; ``callbacks`` are called with the trainer after
    every optimizer step (after any checkpoint of that step)."""

    def __init__(self, config: TrainConfig, *, resume: bool = False, overwrite: bool = False,
                 callbacks: Sequence[Callable[[Trainer], None]] = ()) -> None:
        self.config = config
        self.resume = resume
        self.overwrite = overwrite
        self.callbacks = list(callbacks)
        self.run_dir = Path(config.out)
        self.world = World.from_env()
        self.epoch = 0
        self.step = 0
        self.batches_done = 0
        self.best_top1_err = math.inf
        self.lr_drops = 0

    # -- setup -------------------------------------------------------------
    def _device(self) -> torch.device:
        name = self.config.device
        if name == "auto":
            name = "cuda" if torch.cuda.is_available() else "cpu"
        if name == "cuda":
            if not torch.cuda.is_available():
                raise ConfigError("--device cuda but no CUDA GPU is visible; use --device cpu")
            torch.cuda.set_device(self.world.local_rank)
            return torch.device("cuda", self.world.local_rank)
        return torch.device(name)

    def _init_process_group(self) -> bool:
        if self.world.size == 1 or dist.is_initialized():
            return False
        dist.init_process_group("nccl" if self.device.type == "cuda" else "gloo")
        return True

    def _batches(self) -> tuple[int, int]:
        cfg, world = self.config, self.world.size
        micro = cfg.micro_batch or max(1, cfg.batch_size // world)
        accum, rest = divmod(cfg.batch_size, micro * world)
        if accum < 1 or rest:
            raise ConfigError(f"batch size {cfg.batch_size} is not a multiple of micro batch "
                              f"{micro} x {world} process(es); choose --micro-batch so that it is")
        return micro, accum

    def _data(self) -> None:
        cfg = self.config
        root = Path(cfg.data)
        self.classes = check_layout(root, cfg.num_classes)
        stats, stats_source = stats_for(root, cfg.stats)
        # Fine-tuning keeps the preprocessing the initial weights were trained with.
        self.preprocessing = self._init_facts().preprocessing or stats.preprocessing
        train_tf = train_transform(cfg.augment, scale=cfg.scale_range, crop=cfg.crop,
                                   pca=stats.pca, preprocessing=self.preprocessing)
        self.train_set = SkippingImageFolder(root / "train", train_tf, seed=cfg.seed)
        self.val_set = SkippingImageFolder(
            root / "val", val_transform(scale=cfg.scale_range, crop=cfg.crop,
                                        preprocessing=self.preprocessing), seed=cfg.seed)
        self.sampler = ResumableSampler(self.train_set, num_replicas=self.world.size,
                                        rank=self.world.rank, shuffle=True, seed=cfg.seed,
                                        drop_last=True)
        self.steps_per_epoch = self.sampler.num_samples // (self.micro * self.accum)
        if self.steps_per_epoch == 0:
            raise ConfigError(f"{len(self.train_set)} training images are fewer than one batch of "
                              f"{cfg.batch_size}; lower --batch-size")
        self.val_loader = self._loader(
            self.val_set, range(self.world.rank, len(self.val_set), self.world.size), drop_last=False)
        log.info("data %s: %d classes, %d train / %d val images; statistics: %s; "
                 "preprocessing: %s", root, len(self.classes), len(self.train_set),
                 len(self.val_set), stats_source, self.preprocessing.name)

    def _init_facts(self) -> WeightsFacts:
        """What the weights a fine-tuning run starts from record."""
        cfg = self.config
        if cfg.init != "from-checkpoint" or not cfg.init_from:
            return WeightsFacts("no initial weights")
        return read_facts(cfg.init_from)

    def _loader(self, dataset, sampler, *, drop_last: bool,
                generator: torch.Generator | None = None) -> DataLoader:
        workers = self.config.workers
        return DataLoader(dataset, batch_size=self.micro, sampler=sampler, drop_last=drop_last,
                          num_workers=workers, pin_memory=self.device.type == "cuda",
                          collate_fn=collate_skipping, generator=generator,
                          persistent_workers=False, prefetch_factor=4 if workers else None)

    def _model(self) -> None:
        cfg = self.config
        self.net = create(cfg.model, num_classes=len(self.classes), width_mult=cfg.width_mult,
                          dropout=cfg.dropout)
        if not self.resume:
            initializer = INITIALIZERS.get(cfg.init)
            # Data-driven initializers (LSUV, ...) declare needs_batch=True at
            # registration and get a batch of training inputs; others do not pay for it.
            batch = self._init_batch() if initializer.info.get("needs_batch") else None
            initializer.obj(self.net, checkpoint=cfg.init_from, std=cfg.init_std, batch=batch)
        self.channels_last = (cfg.channels_last if cfg.channels_last is not None
                              else self.device.type == "cuda")
        self.memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        if cfg.freeze:
            frozen = freeze(self.net, cfg.freeze)
            log.info("frozen: %d parameter tensors (%s)", len(frozen), cfg.freeze)
        self.net.to(self.device, memory_format=self.memory_format)
        self.optimizer = torch.optim.SGD(param_groups(self.net, cfg.lr, cfg.head_lr), lr=cfg.lr,
                                         momentum=cfg.momentum, weight_decay=cfg.weight_decay)
        self.scheduler = torch.optim.lr_scheduler.ReduceLROnPlateau(
            self.optimizer, mode="max", factor=0.1, patience=cfg.patience, eps=0.0)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=cfg.amp == "fp16")
        self.model: nn.Module = self.net
        if self.world.size > 1:
            self.model = nn.parallel.DistributedDataParallel(
                self.net, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        if cfg.compile:
            self.model = torch.compile(self.model)

    def _init_batch(self) -> torch.Tensor:
        """The first training images (augmented as in epoch 0), one micro-batch."""
        count = min(self.micro, len(self.train_set))
        images, _, _ = collate_skipping([self.train_set[i] for i in range(count)])
        if images.numel() == 0:
            raise DataError("the first training images are all unreadable; the initializer "
                            f"{self.config.init!r} needs a batch of training inputs")
        return images

    def _seed(self) -> None:
        cfg = self.config
        if cfg.deterministic:
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
            torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = not cfg.deterministic
        torch.manual_seed(cfg.seed)  # the same initial weights on every process
        random.seed(cfg.seed)
        np.random.seed(cfg.seed)

    # -- checkpoints ---------------------------------------------------------
    @property
    def checkpoint_dir(self) -> Path:
        return self.run_dir / CHECKPOINT_DIR

    def _gather_rng(self) -> list[dict[str, Any]]:
        if self.world.size == 1:
            return [rng_state()]
        states: list[Any] = [None] * self.world.size
        dist.all_gather_object(states, rng_state())
        return states

    def _save(self, *, best: bool = False) -> None:
        states = self._gather_rng()  # every process takes part, rank 0 writes
        if not self.world.is_main:
            return
        if not all(bool(torch.isfinite(p).all()) for p in self.net.parameters()):
            self._diverged("non-finite weights")
        contents = {
            "model": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
            "epoch": self.epoch, "step": self.step, "batches_done": self.batches_done,
            "epoch_sums": dict(self.sums), "best_top1_err_pct": self.best_top1_err,
            "lr_drops": self.lr_drops, "rng": states, "config": self.config.as_dict(),
            "classes": self.classes,
        }
        save_checkpoint(self.checkpoint_dir / LAST, contents)
        if best:
            save_checkpoint(self.checkpoint_dir / BEST, contents)

    def _restore(self) -> None:
        ckpt = load_checkpoint(self.checkpoint_dir / LAST)
        stored = ckpt.get("classes")
        if stored is not None and list(stored) != self.classes:
            raise ConfigError(f"cannot resume on {self.config.data}: its classes "
                              f"({_names(self.classes)}) are not the run's ({_names(stored)}); "
                              f"resume with the data the run was started on, or start a new run")
        if len(ckpt["rng"]) != self.world.size:
            raise ConfigError(f"the checkpoint was written by {len(ckpt['rng'])} process(es); "
                              f"resume with the same number (now {self.world.size})")
        self.net.load_state_dict(ckpt["model"])
        self.optimizer.load_state_dict(ckpt["optimizer"])
        self.scheduler.load_state_dict(ckpt["scheduler"])
        self.scaler.load_state_dict(ckpt["scaler"])
        self.epoch, self.step = ckpt["epoch"], ckpt["step"]
        self.batches_done = ckpt["batches_done"]
        self.sums = {k: (v.to(self.device) if isinstance(v, torch.Tensor) else v)
                     for k, v in ckpt["epoch_sums"].items()}
        self.best_top1_err = (ckpt["best_top1_err_pct"] if "best_top1_err_pct" in ckpt
                              else 100.0 * ckpt["best_top1_err"])  # vggzoo 0.1: a fraction
        self.lr_drops = ckpt["lr_drops"]
        set_rng_state(ckpt["rng"][self.world.rank])
        if self.world.is_main:
            self._truncate_metrics(self.epoch)
        log.info("resumed %s at epoch %d, step %d (%d batches into the epoch)",
                 self.checkpoint_dir / LAST, self.epoch + 1, self.step, self.batches_done)

    def _truncate_metrics(self, completed_epochs: int) -> None:
        """Drop metrics of epochs the checkpoint does not include (a kill
        between writing an epoch's metrics and its checkpoint)."""
        path = self.run_dir / METRICS_FILE
        if path.is_file():
            keep = [row for row in read_metrics(self.run_dir) if row["epoch"] <= completed_epochs]
            with atomic_path(path) as tmp:
                tmp.write_text("".join(metrics_line(row) for row in keep))

    def _new_sums(self) -> dict[str, Any]:
        return {"loss": torch.zeros((), dtype=torch.float64, device=self.device),
                "seen": torch.zeros((), dtype=torch.int64, device=self.device),
                "skipped": 0, "time": 0.0}

    # -- divergence ----------------------------------------------------------
    def _diverged(self, what: str) -> None:
        lr = self.optimizer.param_groups[0]["lr"]
        saved = ("the checkpoints and weights keep the last finite state"
                 if self.world.is_main else "")
        raise DivergedError(
            f"training diverged: {what} at optimizer step {self.step + 1} (epoch "
            f"{self.epoch + 1}, lr {lr:g}, init {self.config.init}); {saved}. Try a lower --lr "
            f"(e.g. {lr / 10:g}), --init kaiming-input (the default), a model with batch norm"
            f"{', or --amp bf16 instead of fp16' if self.config.amp == 'fp16' else ''}")

    def _check_step_finite(self) -> None:
        """Stop before an optimizer step that would write NaN into the
        weights: the accumulated loss or (without a grad scaler, which skips
        such steps by design) the gradients are not finite.  Every process
        reaches the same verdict."""
        bad = ~torch.isfinite(self.step_loss)
        if not self.scaler.is_enabled():
            grads = [p.grad for p in self.net.parameters() if p.grad is not None]
            if grads:
                bad = bad | ~torch.isfinite(torch.nn.utils.get_total_norm(grads))
        bad = bad.to(torch.int32)
        if self.world.size > 1:
            dist.all_reduce(bad, op=dist.ReduceOp.MAX)
        if bad.item():
            loss = self.step_loss.item()
            self._diverged(f"non-finite {'loss' if not math.isfinite(loss) else 'gradients'} "
                           f"(loss {loss})")

    # -- the loop ------------------------------------------------------------
    def fit(self) -> TrainResult:
        """Train until the lr has been divided ``lr_drops`` times and val
        top-1 stops improving again, or ``epochs`` / ``max_steps`` is reached."""
        self.device = self._device()
        created_group = self._init_process_group()
        try:
            return self._fit()
        finally:
            if created_group:
                dist.destroy_process_group()

    def _fit(self) -> TrainResult:
        if not self.world.is_main:
            return self._fit_locked()
        make_run_dir(self.run_dir)
        with RunLock(self.run_dir):
            if not self.resume:
                prepare_new_run(self.run_dir, overwrite=self.overwrite)
            return self._fit_locked()

    def _fit_locked(self) -> TrainResult:
        cfg = self.config
        self.micro, self.accum = self._batches()
        self._seed()
        self._data()
        self._model()
        self.sums = self._new_sums()
        if self.resume:
            self._restore()
        else:
            torch.manual_seed(cfg.seed * 7919 + self.world.rank + 1)  # dropout differs per process
        if self.world.is_main:
            with atomic_path(self.run_dir / CONFIG_FILE) as tmp:
                tmp.write_text(json.dumps(cfg.as_dict(), indent=2) + "\n")
        log.info("%s, %s: effective batch %d = %d per step x %d process(es) x %d accumulation "
                 "step(s); lr %g, S %s, crop %d, init %s, device %s%s%s", cfg.model, cfg.recipe,
                 cfg.batch_size, self.micro, self.world.size, self.accum, cfg.lr, cfg.scale,
                 cfg.crop, cfg.init, self.device, f", amp {cfg.amp}" if cfg.amp else "",
                 ", channels_last" if self.channels_last else "")
        metrics: list[dict[str, Any]] = []
        with self._progress() as progress:
            while self.epoch < cfg.epochs and not self._step_limit_reached():
                row = self._train_epoch(progress)
                metrics.append(row)
                if self._plateau_stop(row):
                    break
        return self._finish(metrics)

    def _step_limit_reached(self) -> bool:
        return self.config.max_steps is not None and self.step >= self.config.max_steps

    def _progress(self) -> Progress:
        return Progress(TextColumn("epoch {task.fields[epoch]}"), BarColumn(), MofNCompleteColumn(),
                        TextColumn("loss {task.fields[loss]:.4f}  lr {task.fields[lr]:.2g}  "
                                   "{task.fields[ips]:.1f} img/s"), TimeRemainingColumn(),
                        disable=not self.show_progress)

    @property
    def show_progress(self) -> bool:
        return self.config.progress and self.world.is_main

    def _autocast(self) -> contextlib.AbstractContextManager:
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.config.amp or "")
        return torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None)

    def _train_epoch(self, progress: Progress) -> dict[str, Any]:
        cfg = self.config
        self.train_set.epoch = self.epoch
        self.sampler.set_epoch(self.epoch)
        self.sampler.start = self.batches_done * self.micro
        loader = self._loader(self.train_set, self.sampler, drop_last=True,
                              generator=torch.Generator().manual_seed(cfg.seed + self.epoch))
        task = progress.add_task("train", total=self.steps_per_epoch, epoch=self.epoch + 1,
                                 completed=self.batches_done // self.accum, loss=math.nan,
                                 lr=self.optimizer.param_groups[0]["lr"], ips=0.0)
        self.model.train()
        self.step_loss = torch.zeros((), dtype=torch.float64, device=self.device)
        started, seen_here = time.perf_counter(), 0
        for images, targets, skipped in loader:
            if self.batches_done >= self.steps_per_epoch * self.accum:
                break
            loss = self._micro_step(images, targets)
            self.sums["skipped"] += skipped
            seen_here += len(targets)
            if self.batches_done % self.accum:
                continue
            self._check_step_finite()
            self.step_loss.zero_()
            self.scaler.step(self.optimizer)
            self.scaler.update()
            self.optimizer.zero_grad(set_to_none=True)
            self.step += 1
            if self.show_progress:
                elapsed = time.perf_counter() - started
                progress.update(task, advance=1, loss=loss.item(),
                                lr=self.optimizer.param_groups[0]["lr"],
                                ips=seen_here * self.world.size / max(elapsed, 1e-9))
            if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                self.sums["time"] += time.perf_counter() - started
                started = time.perf_counter()
                self._save()
            for callback in self.callbacks:
                callback(self)
            if self._step_limit_reached():
                break
        self.sums["time"] += time.perf_counter() - started
        progress.remove_task(task)
        return self._end_epoch()

    def _micro_step(self, images: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Forward and backward of one micro batch; returns its mean loss."""
        count = len(targets)
        if count == 0:  # only unreadable images: a zero-weight step keeps DDP in step
            images = torch.zeros(1, 3, self.config.crop, self.config.crop)
            targets = torch.zeros(1, dtype=torch.long)
        images = images.to(self.device, non_blocking=True, memory_format=self.memory_format)
        targets = targets.to(self.device, non_blocking=True)
        self.batches_done += 1
        syncing = self.batches_done % self.accum == 0 or self.world.size == 1
        with (contextlib.nullcontext() if syncing else self.model.no_sync()):
            with self._autocast():
                loss = F.cross_entropy(self.model(images), targets)
            if count == 0:
                loss = loss * 0
            self.scaler.scale(loss / self.accum).backward()
        loss = loss.detach()
        self.step_loss += loss.double()
        self.sums["loss"] += loss.double() * count
        self.sums["seen"] += count
        return loss

    @torch.no_grad()
    def evaluate(self) -> tuple[float, float, float]:
        """Validation loss, top-1 and top-5 error in percent (centre crop at
        the test scale, the tie and non-finite rules of
        :func:`vggzoo.eval.metrics.correct_at_k`), summed over all processes."""
        self.model.eval()
        topk = min(5, len(self.classes))
        totals = torch.zeros(4, dtype=torch.float64, device=self.device)
        for images, targets, _ in self.val_loader:
            if len(targets) == 0:
                continue
            images = images.to(self.device, non_blocking=True, memory_format=self.memory_format)
            targets = targets.to(self.device, non_blocking=True)
            with self._autocast():
                logits = self.model(images).float()
            correct = correct_at_k(logits, targets, (1, topk))
            totals += torch.tensor([F.cross_entropy(logits, targets, reduction="sum").item(),
                                    correct[1], correct[topk], len(targets)],
                                   dtype=torch.float64, device=self.device)
        if self.world.size > 1:
            dist.all_reduce(totals)
        loss, top1, top5, count = totals.tolist()
        count = max(count, 1.0)
        if not math.isfinite(loss):
            self._diverged(f"non-finite validation loss ({loss})")
        return loss / count, 100 * (1 - top1 / count), 100 * (1 - top5 / count)

    def _end_epoch(self) -> dict[str, Any]:
        totals = torch.stack([self.sums["loss"], self.sums["seen"].double(),
                              torch.tensor(float(self.sums["skipped"]), dtype=torch.float64,
                                           device=self.device)])
        if self.world.size > 1:
            dist.all_reduce(totals)
        loss_sum, seen, skipped = totals.tolist()
        val_loss, top1_err, top5_err = self.evaluate()
        row = {"epoch": self.epoch + 1, "step": self.step,
               "train_loss": loss_sum / max(seen, 1.0), "val_loss": val_loss,
               "val_top1_err": top1_err, "val_top5_err": top5_err,
               "lr": self.optimizer.param_groups[0]["lr"], "time_s": self.sums["time"],
               "images_per_s": seen / max(self.sums["time"], 1e-9),
               "skipped_images": int(skipped), "effective_batch": self.config.batch_size}
        log.info("epoch %d: train loss %.4f, val loss %.4f, top-1 error %.2f%%, top-5 error %.2f%%, "
                 "lr %.2g, %.1f img/s%s", row["epoch"], row["train_loss"], val_loss,
                 top1_err, top5_err, row["lr"], row["images_per_s"],
                 f", {int(skipped)} unreadable image(s) skipped" if skipped else "")
        return row

    def _plateau_stop(self, row: dict[str, Any]) -> bool:
        """Step the lr schedule on val top-1, write the epoch's metrics and
        checkpoints; True when the schedule says training is over."""
        lr_before = self.optimizer.param_groups[0]["lr"]
        self.scheduler.step(100 - row["val_top1_err"])
        stop = False
        if self.optimizer.param_groups[0]["lr"] < lr_before:
            self.lr_drops += 1
            if self.lr_drops > self.config.lr_drops:
                log.info("val top-1 stopped improving after %d lr drops: training done",
                         self.config.lr_drops)
                stop = True
            else:
                log.info("val top-1 stopped improving: lr divided by 10 (drop %d of %d)",
                         self.lr_drops, self.config.lr_drops)
        improved = row["val_top1_err"] < self.best_top1_err
        self.best_top1_err = min(self.best_top1_err, row["val_top1_err"])
        if self.world.is_main:
            with open(self.run_dir / METRICS_FILE, "a") as handle:
                handle.write(metrics_line(row))
                handle.flush()
                os.fsync(handle.fileno())
        self.epoch += 1
        self.batches_done = 0
        self.sums = self._new_sums()
        self._save(best=improved)
        return stop

    def _finish(self, metrics: list[dict[str, Any]]) -> TrainResult:
        weights = self.run_dir / RUN_WEIGHTS
        if self.world.is_main:
            best = self.checkpoint_dir / BEST
            if best.is_file():
                self.net.load_state_dict(load_checkpoint(best)["model"])
            cfg = self.config
            save_weights(self.net, weights, metadata=WeightsFacts(
                str(weights), model=cfg.model, width_mult=cfg.width_mult,
                num_classes=len(self.classes), in_chans=3, classes=list(self.classes),
                preprocessing=self.preprocessing, train_scale=cfg.scale_range.spec).to_metadata())
            log.info("best val top-1 error %.2f%%; weights: %s", self.best_top1_err, weights)
        return TrainResult(self.run_dir, weights, self.best_top1_err, self.epoch, self.step, metrics)


def metrics_line(row: dict[str, Any]) -> str:
    """One ``metrics.jsonl`` line: strict JSON, a non-finite number as null."""
    clean = {k: (None if isinstance(v, float) and not math.isfinite(v) else v)
             for k, v in row.items()}
    return json.dumps(clean, allow_nan=False) + "\n"


def _names(classes: Sequence[str]) -> str:
    shown = ", ".join(classes[:5])
    return f"{shown}, ... ({len(classes)} in all)" if len(classes) > 5 else shown


def train(model: str | None = None, data: str | os.PathLike | None = None,
          out: str | os.PathLike | None = None, *, recipe: str | None = None,
          config: str | os.PathLike | None = None, resume: bool = False, overwrite: bool = False,
          callbacks: Sequence[Callable[[Trainer], None]] = (), **options: Any) -> TrainResult:
    """Train a registered model on an ImageFolder directory (``train/``, ``val/``).

    ``options`` are :class:`TrainConfig` fields.  A directory ``out`` that
    already holds a run is an error unless ``resume=True`` (continue it from
    its last checkpoint with its stored config: only ``epochs``, ``workers``,
    ``progress``, ``max_steps``, ``checkpoint_every`` and ``data`` (a moved
    copy with the same classes) may change; any other change is an error) or
    ``overwrite=True`` (delete it and start again).

    >>> vggzoo.train("vgg11", "digits", "runs/a", width_mult=1/32, epochs=3, init="glorot")
    """
    if resume and overwrite:
        raise ConfigError("--resume continues a run and --overwrite deletes it: pass one of them")
    if resume:
        if out is None:
            raise ConfigError("resume needs the run directory (out=...)")
        stored = load_checkpoint(Path(out) / CHECKPOINT_DIR / LAST)["config"]
        asked = {"model": model, "data": data, "recipe": recipe, **options}
        asked = {k: v for k, v in asked.items() if v is not None}
        if config is not None:
            asked.update(read_config_file(config))
        changed = resume_changes(stored, asked)
        if changed:
            raise ConfigError(f"a resumed run keeps its config; cannot change {'; '.join(changed)} "
                              f"(a resume may change only {', '.join(RESUME_OVERRIDES)}); start "
                              f"a new run in another --out for that")
        stored.update({k: v for k, v in asked.items() if k in RESUME_OVERRIDES})
        stored["out"] = str(out)  # the run directory may have moved
        cfg = TrainConfig(**stored)
    else:
        cfg = resolve_config(recipe, config, model=model, data=data, out=out, **options)
        if not cfg.data or not cfg.out:
            raise ConfigError("training needs a data directory and a run directory (data=, out=)")
    return Trainer(cfg, resume=resume, overwrite=overwrite, callbacks=callbacks).fit()


def resume_changes(stored: dict[str, Any], asked: dict[str, Any]) -> list[str]:
    """``"name: stored -> asked"`` for each run-defining option that ``asked``
    changes (compared after :class:`TrainConfig` normalises both)."""
    unknown = [k for k in asked if k not in FIELDS]
    if unknown:
        raise ConfigError(f"unknown training option(s) {', '.join(unknown)}")
    before = TrainConfig(**stored).as_dict()
    after = TrainConfig(**{**stored, **asked}).as_dict()
    return [f"{k}: {before[k]!r} -> {after[k]!r}" for k in asked
            if k not in RESUME_OVERRIDES and k != "out" and before[k] != after[k]]
