"""The PyTorch runner (eager, any device)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ..factory import create, to_fully_conv
from ..hookspecs import Register, hookimpl
from .base import Runner


class TorchRunner(Runner):
    """Runs a vggzoo model (converted to its fully-convolutional form).

    >>> runner = TorchRunner(vggzoo.create("vgg16", weights="vgg16.pth"))
    >>> runner.posteriors(batch).shape
    torch.Size([8, 1000])
    """

    name = "torch"

    def __init__(self, model: nn.Module, *, device: str | torch.device = "cpu") -> None:
        self.device = torch.device(device)
        self.model = to_fully_conv(model).to(self.device).eval()
        cfg = self.model.pretrained_cfg
        self.num_classes = cfg["num_classes"]
        self.preprocessing = cfg["preprocessing"]
        self.min_input_size = cfg["min_input_size"]

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return self.model(batch.to(self.device)).float().cpu()


def build_torch_runner(*, model: str | nn.Module, weights: Any = None, device: str = "cpu",
                       **model_kwargs: Any) -> TorchRunner:
    """Factory for ``create_runner("torch", ...)``: a model name (with
    weights) or a model instance."""
    if isinstance(model, str):
        model = create(model, fully_conv=True, weights=weights,
                       **{k: v for k, v in model_kwargs.items()
                          if k in ("num_classes", "width_mult")})
    return TorchRunner(model, device=device)


@hookimpl
def vggzoo_register_runners(register: Register) -> None:
    register("torch", build_torch_runner, description="PyTorch eager on CPU or GPU")
