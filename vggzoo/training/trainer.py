"""The training loop: the paper's SGD recipe, gradient accumulation to the
effective batch, autocast, channels_last, optional ``torch.compile``, DDP
under ``torchrun``, and exact mid-epoch resume.

One code path serves one process and many: without ``torchrun`` the world is
one process (:mod:`.world`) and the same sampler gives the data order
(:mod:`.loaders`), so a run's batches do not depend on how many processes
share them.  Only rank 0 writes files.  The jobs around the loop live beside
it: the lr schedule (:mod:`.schedule`), validation (:mod:`.validation`),
divergence checks (:mod:`.divergence`), checkpoints (:mod:`.checkpoint`),
``metrics.jsonl`` (:mod:`.metrics`), resuming (:mod:`.resume`) and the final
weights (:mod:`.final_weights`); :func:`train` (:mod:`.api`) is the entry.

>>> result = Trainer(resolve_config(model="vgg11", data="digits", out="runs/a")).fit()
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import random
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
import torch.nn.functional as F
from torch import nn

from ..models.factory import create
from ..io import atomic_path
from ..progress import Progress, as_progress
from ..plugins.registry import INITIALIZERS
from .api import train
from .checkpoint import (BEST, LAST, RUN_WEIGHTS, load_checkpoint, rng_state, save_checkpoint,
                         set_rng_state)
from .config import TrainConfig, resolve_config  # noqa: F401  (resolve_config: see the example)
from .divergence import diverged, nonfinite_step, weights_finite
from .final_weights import save_run_weights, write_run_weights
from .loaders import ResumableSampler, first_batch, load_run_data, make_loader, split_batch
from .metrics import append_metrics, metrics_line, truncate_metrics
from .result import TrainResult
from .resume import RESUME_OVERRIDES, check_resumable, resume_changes
from .rundir import (CHECKPOINT_DIR, CONFIG_FILE, RunLock, make_run_dir, refuse_existing_run,
                     remove_run_files)
from .schedule import current_lr, make_optimizer, make_scheduler, step_schedule
from .transfer import freeze
from .validation import validate
from .world import World, init_process_group, select_device

log = logging.getLogger("vggzoo.train")

__all__ = ["RESUME_OVERRIDES", "ResumableSampler", "TrainResult", "Trainer", "World",
           "metrics_line", "resume_changes", "train"]


class Trainer:
    """Runs one training run; ``callbacks`` are called with the trainer after
    every optimizer step (after any checkpoint of that step), ``on_progress``
    (:mod:`vggzoo.progress`) on rank 0 while ``config.progress`` is on."""

    def __init__(self, config: TrainConfig, *, resume: bool = False, overwrite: bool = False,
                 callbacks: Sequence[Callable[[Trainer], None]] = (),
                 on_progress: Progress | None = None) -> None:
        self.config = config
        self.resume = resume
        self.overwrite = overwrite
        self.callbacks = list(callbacks)
        self.on_progress = as_progress(on_progress)
        self.run_dir = Path(config.out)
        self.world = World.from_env()
        self.epoch = 0
        self.step = 0
        self.batches_done = 0
        self.best_top1_err = math.inf
        self.lr_drops = 0

    # -- setup -------------------------------------------------------------
    def _data(self) -> None:
        data = load_run_data(self.config, self.world, self.micro, self.accum,
                             pin_memory=self.device.type == "cuda")
        self.classes, self.preprocessing = data.classes, data.preprocessing
        self.train_set, self.val_set, self.sampler = data.train_set, data.val_set, data.sampler
        self.steps_per_epoch, self.val_loader = data.steps_per_epoch, data.val_loader

    def _model(self) -> None:
        cfg = self.config
        self.net = create(cfg.model, num_classes=len(self.classes), width_mult=cfg.width_mult,
                          dropout=cfg.dropout)
        if not self.resume:
            initializer = INITIALIZERS.get(cfg.init)
            # Data-driven initializers (LSUV, ...) declare needs_batch=True at
            # registration and get a batch of training inputs; others do not pay for it.
            batch = (first_batch(self.train_set, self.micro, cfg.init)
                     if initializer.info.get("needs_batch") else None)
            initializer.obj(self.net, checkpoint=cfg.init_from, std=cfg.init_std, batch=batch)
        self.channels_last = (cfg.channels_last if cfg.channels_last is not None
                              else self.device.type == "cuda")
        self.memory_format = torch.channels_last if self.channels_last else torch.contiguous_format
        if cfg.freeze:
            frozen = freeze(self.net, cfg.freeze)
            log.info("frozen: %d parameter tensors (%s)", len(frozen), cfg.freeze)
        self.net.to(self.device, memory_format=self.memory_format)
        self.optimizer = make_optimizer(self.net, cfg)
        self.scheduler = make_scheduler(self.optimizer, cfg)
        self.scaler = torch.amp.GradScaler(self.device.type, enabled=cfg.amp == "fp16")
        self.model: nn.Module = self.net
        if self.world.size > 1:
            self.model = nn.parallel.DistributedDataParallel(
                self.net, device_ids=[self.device.index] if self.device.type == "cuda" else None)
        if cfg.compile:
            self.model = torch.compile(self.model)

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
        if not weights_finite(self.net):
            self._diverged("non-finite weights")
        contents = {
            "model": self.net.state_dict(), "optimizer": self.optimizer.state_dict(),
            "scheduler": self.scheduler.state_dict(), "scaler": self.scaler.state_dict(),
            "epoch": self.epoch, "step": self.step, "batches_done": self.batches_done,
            "epoch_sums": dict(self.sums), "best_top1_err_pct": self.best_top1_err,
            "lr_drops": self.lr_drops, "rng": states, "config": self.config.as_dict(),
            "classes": self.classes,
        }
        save_checkpoint(self.checkpoint_dir / LAST, contents, keep_previous=True)
        if best:
            save_checkpoint(self.checkpoint_dir / BEST, contents)

    def _restore(self) -> None:
        ckpt = load_checkpoint(self.checkpoint_dir / LAST)
        check_resumable(ckpt, self.classes, self.world.size, self.config.data)
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
            truncate_metrics(self.run_dir, self.epoch)
        log.info("resumed %s at epoch %d, step %d (%d batches into the epoch)",
                 self.checkpoint_dir / LAST, self.epoch + 1, self.step, self.batches_done)

    def _new_sums(self) -> dict[str, Any]:
        return {"loss": torch.zeros((), dtype=torch.float64, device=self.device),
                "seen": torch.zeros((), dtype=torch.int64, device=self.device),
                "skipped": 0, "time": 0.0}

    # -- divergence ----------------------------------------------------------
    def _diverged(self, what: str) -> None:
        raise diverged(what, step=self.step, epoch=self.epoch, lr=current_lr(self.optimizer),
                       cfg=self.config, is_main=self.world.is_main)

    def _check_step_finite(self) -> None:
        """Stop before an optimizer step that would write NaN into the weights."""
        what = nonfinite_step(self.step_loss, self.net, self.scaler, self.world.size)
        if what is not None:
            self._diverged(what)

    # -- the loop ------------------------------------------------------------
    def fit(self) -> TrainResult:
        """Train until the lr has been divided ``lr_drops`` times and val
        top-1 stops improving again, or ``epochs`` / ``max_steps`` is reached."""
        self.device = select_device(self.config.device, self.world)
        created_group = init_process_group(self.world, self.device)
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
            if not self.resume:  # deleted only once the new run's inputs are read
                refuse_existing_run(self.run_dir, overwrite=self.overwrite)
            return self._fit_locked()

    def _fit_locked(self) -> TrainResult:
        cfg = self.config
        self.micro, self.accum = split_batch(cfg, self.world.size)
        self._seed()
        self._data()
        self._model()
        self.sums = self._new_sums()
        if self.resume:
            self._restore()
        else:
            torch.manual_seed(cfg.seed * 7919 + self.world.rank + 1)  # dropout differs per process
        if self.world.is_main:
            if not self.resume:  # data and initial weights read: the old run may go
                remove_run_files(self.run_dir)
            with atomic_path(self.run_dir / CONFIG_FILE) as tmp:
                tmp.write_text(json.dumps(cfg.as_dict(), indent=2) + "\n")
        log.info("%s, %s: effective batch %d = %d per step x %d process(es) x %d accumulation "
                 "step(s); lr %g, S %s, crop %d, init %s, device %s%s%s", cfg.model, cfg.recipe,
                 cfg.batch_size, self.micro, self.world.size, self.accum, cfg.lr, cfg.scale,
                 cfg.crop, cfg.init, self.device, f", amp {cfg.amp}" if cfg.amp else "",
                 ", channels_last" if self.channels_last else "")
        metrics: list[dict[str, Any]] = []
        while self.epoch < cfg.epochs and not self._step_limit_reached():
            row = self._train_epoch()
            if row is None:  # --max-steps stopped it mid-epoch; a resume goes on from here
                break
            metrics.append(row)
            if self._plateau_stop(row):
                break
        return self._finish(metrics)

    def _step_limit_reached(self) -> bool:
        return self.config.max_steps is not None and self.step >= self.config.max_steps

    @property
    def show_progress(self) -> bool:
        return self.config.progress and self.world.is_main

    def _report(self, loss: float | None, images_per_s: float) -> None:
        """Progress of the epoch; ``loss`` is None before its first step."""
        if self.show_progress:
            self.on_progress(self.batches_done // self.accum, self.steps_per_epoch,
                             epoch=self.epoch + 1, loss=loss, lr=current_lr(self.optimizer),
                             images_per_s=images_per_s)

    def _autocast(self) -> contextlib.AbstractContextManager:
        dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.config.amp or "")
        return torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None)

    def _train_epoch(self) -> dict[str, Any] | None:
        """One epoch's metrics row; ``None`` when ``max_steps`` stopped it
        part-way (checkpointed there, so a resume finishes the same epoch)."""
        cfg = self.config
        self.train_set.epoch = self.epoch
        self.sampler.set_epoch(self.epoch)
        self.sampler.start = self.batches_done * self.micro
        loader = make_loader(self.train_set, self.sampler, batch_size=self.micro,
                             workers=cfg.workers, pin_memory=self.device.type == "cuda",
                             drop_last=True,
                             generator=torch.Generator().manual_seed(cfg.seed + self.epoch))
        self._report(None, 0.0)
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
                self._report(loss.item(), seen_here * self.world.size / max(elapsed, 1e-9))
            if cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0:
                self.sums["time"] += time.perf_counter() - started
                started = time.perf_counter()
                self._save()
            for callback in self.callbacks:
                callback(self)
            if self._step_limit_reached():
                break
        self.sums["time"] += time.perf_counter() - started
        if self.batches_done < self.steps_per_epoch * self.accum:
            if not (cfg.checkpoint_every and self.step % cfg.checkpoint_every == 0):
                self._save()
            log.info("stopped after step %d (--max-steps), %d of %d steps into epoch %d; "
                     "--resume finishes it", self.step, self.batches_done // self.accum,
                     self.steps_per_epoch, self.epoch + 1)
            return None
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

    def evaluate(self) -> tuple[float, float, float]:
        """Validation loss, top-1 and top-5 error in percent (centre crop at
        the test scale, the tie and non-finite rules of
        :func:`vggzoo.eval.metrics.correct_at_k`), summed over all processes."""
        loss, top1, top5, count = validate(
            self.model, self.val_loader, num_classes=len(self.classes), device=self.device,
            memory_format=self.memory_format, autocast=self._autocast,
            world_size=self.world.size)
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
               "lr": current_lr(self.optimizer), "time_s": self.sums["time"],
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
        self.lr_drops, stop = step_schedule(self.scheduler, self.optimizer, row["val_top1_err"],
                                            self.lr_drops, self.config.lr_drops)
        improved = row["val_top1_err"] < self.best_top1_err
        self.best_top1_err = min(self.best_top1_err, row["val_top1_err"])
        if self.world.is_main:
            append_metrics(self.run_dir, row)
        self.epoch += 1
        self.batches_done = 0
        self.sums = self._new_sums()
        self._save(best=improved)
        if improved and self.world.is_main:  # usable weights at every new best
            save_run_weights(self.net, self.run_dir, self.config, self.classes,
                             self.preprocessing)
        return stop

    def _finish(self, metrics: list[dict[str, Any]]) -> TrainResult:
        weights = self.run_dir / RUN_WEIGHTS
        if self.world.is_main:
            weights = write_run_weights(self.net, self.run_dir, self.checkpoint_dir, self.config,
                                        self.classes, self.preprocessing)
            log.info("best val top-1 error %.2f%%; weights: %s", self.best_top1_err, weights)
        return TrainResult(self.run_dir, weights, self.best_top1_err, self.epoch, self.step, metrics)
