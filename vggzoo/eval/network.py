"""A network under evaluation: a runner on any backend and what its weights
record (architecture, paper config, training scale), from a model name and
weights (:func:`load_network`) or from a ready runner (:func:`network_of`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import WeightsError
from ..registry import MODELS
from ..runtime.base import Runner, create_runner
from ..weights import WeightsFacts, read_facts
from .cost import MacsPerInput, runner_macs_counter
from .scales import TrainScale


@dataclass
class Network:
    """One network under evaluation: its runner and what we know about it."""

    runner: Runner
    model: str | None = None
    config: str | None = None
    weights: str | None = None
    train_scale: TrainScale | None = None
    scales: list[int] = field(default_factory=list)
    macs: MacsPerInput | None = None
    #: Why :attr:`scales` differ from the paper's rule (clamped to the minimum input).
    scale_note: str | None = None

    @property
    def label(self) -> str:
        return self.model or self.runner.name


def load_network(model: str | None, weights: str | os.PathLike | None = None, *,
                 backend: str = "torch", width_mult: float | None = None,
                 num_classes: int | None = None, train_scale: str | None = None,
                 **runner_options: Any) -> Network:
    """Build the runner for ``model``/``weights`` on ``backend``.

    ``weights`` is a file, a run directory or named weights
    (``vgg16.tv_in1k``; ``"torchvision"`` with ``model``).  What the weights
    record (``model``, ``width_mult``, ``num_classes``, ``train_scale``, see
    :func:`vggzoo.weights.read_facts`) fills what is not given; a value given
    that contradicts them is an error rather than a silent mismatch.
    """
    if weights == "torchvision":
        if model is None:
            raise WeightsError("weights='torchvision' needs the model name (--model vgg16)")
        weights = f"{MODELS.get(model).name}.tv_in1k"
    facts = read_facts(weights) if weights is not None else WeightsFacts("no weights")
    model = facts.agree("model", model)
    if model is None and weights is None and backend != "torch":
        # An exported file (--onnx, --engine) says which architecture it holds.
        return network_of(create_runner(backend, **runner_options), train_scale)
    if model is None:
        where = f"{weights} has no 'model' metadata" if weights else "no weights were given"
        raise WeightsError(f"which architecture? {where}: pass the model name (--model vgg16)")
    model = MODELS.get(model).name
    width_mult = facts.agree("width_mult", width_mult)
    num_classes = facts.agree("num_classes", num_classes)
    runner = create_runner(backend, model=model, weights=weights, width_mult=width_mult,
                           num_classes=num_classes, **runner_options)
    scale = train_scale or facts.train_scale
    return Network(runner, model=model, config=MODELS.get(model).info.get("config"),
                   weights=None if weights is None else str(weights),
                   train_scale=TrainScale.parse(scale) if scale else None,
                   macs=runner_macs_counter(runner))


def network_of(runner: Runner, train_scale: str | None = None) -> Network:
    """Wrap a ready runner (any backend) for evaluation."""
    cfg = getattr(getattr(runner, "model", None), "pretrained_cfg", None) or {}
    name = (runner.architecture or {}).get("name")
    train_scale = train_scale or runner.train_scale
    return Network(runner, model=name,
                   config=MODELS.get(name).info.get("config") if name else None,
                   weights=cfg.get("weights"),
                   train_scale=TrainScale.parse(train_scale) if train_scale else None,
                   macs=runner_macs_counter(runner))
