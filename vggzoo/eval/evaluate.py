"""``vggzoo.evaluate``: test protocols x scales x models over an image folder.

For each chunk of images, each network and each test scale Q, the base
protocols needed (``dense``, ``multicrop``, ...) run once; posteriors are
averaged over scales (multi-scale testing), then over networks (fusion), and
combined protocols (``dense+multicrop``) are formed from them.  Under
``torchrun`` every process takes its shard of the images and the integer
counts are summed with ``all_reduce``, so the errors equal a single
process's exactly.

This module is the public entry point; the jobs behind it live beside it:
loading networks (:mod:`.network`), posteriors and fusion
(:mod:`.posteriors`), the pass over the data (:mod:`.loop`) and the results
reduced over processes (:mod:`.result`).

>>> r = vggzoo.evaluate("vgg16", "vgg16_jitter.safetensors", "imagenet",
...                     protocol="dense", multi_scale=True)
>>> r.top1_err, r.top5_err, r.images, r.gflops_per_image
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from ..errors import VggzooError
from ..progress import Progress
from ..runtime.base import Runner
from ..weights.files import read_facts
from .loop import evaluate_protocols
from .network import load_network, network_of
from .result import EvalResult

__all__ = ["evaluate"]


def evaluate(model: str | None = None, weights: str | os.PathLike | None = None,
             data: str | os.PathLike | None = None, *, protocol: str = "dense",
             scales: str | Sequence[int] | None = None, multi_scale: bool = False,
             train_scale: str | None = None, flip: bool = True, batch_size: int = 32,
             backend: str = "torch", fuse: Sequence[str | os.PathLike] = (),
             runner: Runner | Sequence[Runner] | None = None, width_mult: float | None = None,
             num_classes: int | None = None,
             combination_weights: Sequence[float] | None = None,
             progress: Progress | bool | None = None, **runner_options: Any) -> EvalResult:
    """Evaluate one protocol on the labelled images of ``data``.

    The network is ``model`` with ``weights`` on ``backend`` (or ready
    ``runner`` objects); ``fuse`` adds more weights files whose posteriors are
    averaged with it (ConvNet fusion).  Scales are ``scales`` or derived from
    the training scale (weights metadata or ``train_scale``), three of them
    with ``multi_scale``.  ``progress(images done, images)`` follows the
    images (:mod:`vggzoo.progress`); the library draws nothing itself.

    >>> r = evaluate("vgg16", "vgg16.safetensors", "val", protocol="dense+multicrop",
    ...              scales="256,384,512")
    >>> print(f"{r.top1_err:.1f} / {r.top5_err:.1f}")
    """
    if data is None:
        raise VggzooError("evaluate needs data=: a folder of class sub-folders of test images")
    if runner is not None:
        runners = [runner] if isinstance(runner, Runner) else list(runner)
        networks = [network_of(r, train_scale) for r in runners]
    else:
        networks = [load_network(model, weights, backend=backend, width_mult=width_mult,
                                 num_classes=num_classes, train_scale=train_scale,
                                 **runner_options)]
    for extra in fuse:
        # Fused checkpoints name their own architecture in their metadata;
        # without it they are taken to be the same model as the first.
        if read_facts(extra).model:
            networks.append(load_network(None, extra, backend=backend, train_scale=train_scale,
                                         **runner_options))
        else:
            networks.append(load_network(networks[0].model, extra, backend=backend,
                                         width_mult=width_mult, num_classes=num_classes,
                                         train_scale=train_scale, **runner_options))
    return evaluate_protocols(networks, data, [protocol], scales=scales, multi_scale=multi_scale,
                              flip=flip, batch_size=batch_size,
                              combination_weights=combination_weights, progress=progress)[0]
