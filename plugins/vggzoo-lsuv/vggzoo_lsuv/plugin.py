"""LSUV initialisation (Mishkin & Matas, 2016) as a vggzoo initializer."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

import vggzoo
from vggzoo.errors import VggzooError
from vggzoo.training.initializers import input_rms, spread_input_scale


class _Captured(Exception):
    """Stops the forward pass once the layer being scaled has run."""


def _output_variance(model: nn.Module, layer: nn.Module, batch: torch.Tensor) -> float:
    captured: list[torch.Tensor] = []

    def hook(_module, _inputs, output):
        captured.append(output)
        raise _Captured

    handle = layer.register_forward_hook(hook)
    try:
        model(batch)
    except _Captured:
        pass
    finally:
        handle.remove()
    return float(captured[0].var())


@torch.no_grad()
def lsuv(model: nn.Module, *, batch: torch.Tensor | None = None, tolerance: float = 0.05,
         max_iterations: int = 10, **_: Any) -> None:
    """Orthonormal weights, then each conv/linear layer in forward order
    scaled until its output variance on ``batch`` is 1 +- ``tolerance``; then
    the input's scale is spread evenly over the layers.

    LSUV alone makes the first layer's weights ~1/RMS of the input (~1/60
    for mean-subtracted 0-255 pixels), so its SGD steps are ~10^4 times too
    large for them and training at the paper's lr 1e-2 diverges (loss 5e12,
    measured).  The first layer therefore keeps the input's scale (its output
    variance is the input's) and every layer then gives up an equal share,
    ``rms ** (-1 / layers)`` (:func:`vggzoo.training.initializers.spread_input_scale`):
    for a network without batch norm the same function as plain LSUV, with
    the network's output still at unit variance.

    >>> lsuv(model, batch=next(iter(loader))[0])
    """
    if batch is None:
        raise VggzooError("the lsuv initializer needs a batch of training inputs (batch=...); "
                          "`vggzoo train --init lsuv` passes one")
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    for layer in layers:
        nn.init.orthogonal_(layer.weight)
        if layer.bias is not None:
            nn.init.zeros_(layer.bias)
    was_training = model.training
    model.eval()  # dropout off, batch norm on running statistics
    device = next(model.parameters()).device
    batch = batch.to(device)
    try:
        for layer in layers:
            for _ in range(max_iterations):
                variance = _output_variance(model, layer, batch)
                if abs(variance - 1.0) < tolerance or variance == 0.0:
                    break
                layer.weight.div_(variance ** 0.5)
    finally:
        model.train(was_training)
    rms = input_rms(batch)
    layers[0].weight.mul_(rms)
    spread_input_scale(model, rms)


@vggzoo.hookimpl
def vggzoo_register_initializers(register) -> None:
    register("lsuv", lsuv, needs_batch=True,
             description="LSUV: orthonormal, then unit output variance per layer")
