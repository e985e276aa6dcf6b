"""``vggzoo.train``: a training run from a model name, a data folder and a
run directory, or the continuation of one (``resume=True``)."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from ..errors import ConfigError
from ..progress import Progress
from .config import resolve_config
from .resume import resumed_config
from .result import TrainResult

if TYPE_CHECKING:
    from .trainer import Trainer

log = logging.getLogger("vggzoo.train")


def train(model: str | None = None, data: str | os.PathLike | None = None,
          out: str | os.PathLike | None = None, *, recipe: str | None = None,
          config: str | os.PathLike | None = None, resume: bool = False, overwrite: bool = False,
          callbacks: Sequence[Callable[[Trainer], None]] = (),
          on_progress: Progress | None = None, **options: Any) -> TrainResult:
    """Train a registered model on an ImageFolder directory (``train/``, ``val/``).

    ``options`` are :class:`TrainConfig` fields.  A directory ``out`` that
    already holds a run is an error unless ``resume=True`` (continue it from
    its last checkpoint with its stored config: only ``epochs``, ``workers``,
    ``progress``, ``max_steps``, ``checkpoint_every`` and ``data`` (a moved
    copy with the same classes) may change; any other change is an error; a
    run stopped before its first checkpoint starts again from scratch) or
    ``overwrite=True`` (delete it and start again, once the new run's data and
    initial weights are read).

    ``on_progress(step, steps, epoch=, loss=, lr=, images_per_s=)`` is called
    on rank 0 after each optimizer step while the ``progress`` option is on
    (see :mod:`vggzoo.progress`); ``callbacks`` get the trainer itself.

    >>> vggzoo.train("vgg11", "digits", "runs/a", width_mult=1/32, epochs=3, init="glorot")
    """
    from .trainer import Trainer

    if resume and overwrite:
        raise ConfigError("--resume continues a run and --overwrite deletes it: pass one of them")
    if resume:
        if out is None:
            raise ConfigError("resume needs the run directory (out=...)")
        cfg, restart = resumed_config(out, config, {"model": model, "data": data,
                                                    "recipe": recipe, **options})
        if restart:
            log.warning("%s has no checkpoint yet (it was stopped before its first one): "
                        "starting it again from scratch with its config.json", out)
            return Trainer(cfg, overwrite=True, callbacks=callbacks,
                           on_progress=on_progress).fit()
    else:
        cfg = resolve_config(recipe, config, model=model, data=data, out=out, **options)
        if not cfg.data or not cfg.out:
            raise ConfigError("training needs a data directory and a run directory (data=, out=)")
    return Trainer(cfg, resume=resume, overwrite=overwrite, callbacks=callbacks,
                   on_progress=on_progress).fit()
