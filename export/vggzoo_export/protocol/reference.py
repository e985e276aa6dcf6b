"""What the protocol graph must equal: ``vggzoo eval --protocol dense``'s
posteriors, computed by the evaluation code itself on any runner, and the
measure of their difference."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from vggzoo.runtime.base import Runner


def log_posterior_diff(got: torch.Tensor, expected: torch.Tensor) -> float:
    """Max abs difference of log-posteriors: relative, so it stays sensitive
    when posteriors are near uniform (untrained weights)."""
    return float((got.double().log() - expected.double().log()).abs().max())


def eval_dense_posteriors(runner: Runner, image: torch.Tensor, scales: Sequence[int], *,
                          flip: bool = True) -> torch.Tensor:
    """(N, K) posteriors of ``vggzoo eval --protocol dense`` for uint8
    (N, 3, H, W) or (3, H, W) images: :func:`vggzoo.eval.protocol_posteriors` itself,
    on any runner."""
    from vggzoo.eval.network import network_of
    from vggzoo.eval.posteriors import protocol_posteriors
    from vggzoo.plugins.registry import EVAL_PROTOCOLS

    images = list(image[None] if image.dim() == 3 else image)
    network = network_of(runner)
    network.scales = list(scales)
    return protocol_posteriors([network], images, [EVAL_PROTOCOLS.get("dense").obj], flip=flip)["dense"]
