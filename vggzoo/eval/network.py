"""A network under evaluation: a runner on any backend and the facts record
it carries (:attr:`vggzoo.runtime.Runner.facts`: architecture, paper config,
training scale, ...), from a model name and weights (:func:`load_network`)
or from a ready runner (:func:`network_of`)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import WeightsError
from ..models.cfg import PretrainedCfg
from ..plugins.registry import MODELS
from ..runtime.base import Runner, create_runner
from ..runtime.base import runner_options as runner_options_of
from ..weights.files import WeightsFacts, read_facts
from ..weights.resolve import resolve_weights
from .cost import MacsPerInput, runner_macs_counter
from .scales import TrainScale


@dataclass
class Network:
    """One network under evaluation: its runner (which carries the model's
    facts record) and what evaluation decides about it."""

    runner: Runner
    weights: str | None = None
    #: The training scale S test scales derive from (the facts', or --train-scale).
    train_scale: TrainScale | None = None
    scales: list[int] = field(default_factory=list)
    macs: MacsPerInput | None = None
    #: Why :attr:`scales` differ from the paper's rule (clamped to the minimum input).
    scale_note: str | None = None

    @property
    def facts(self) -> PretrainedCfg | None:
        return self.runner.facts

    @property
    def model(self) -> str | None:
        return self.facts.name if self.facts is not None else None

    @property
    def config(self) -> str | None:
        return self.facts.config if self.facts is not None else None

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
    :func:`vggzoo.weights.files.read_facts`) fills what is not given; a value given
    that contradicts them is an error rather than a silent mismatch.
    """
    weights = resolve_weights(weights, model=model)
    facts = read_facts(weights) if weights is not None else WeightsFacts("no weights")
    model = facts.agree("model", model)
    accepted = runner_options_of(backend)  # None: a factory that checks its own options
    if (accepted is not None and "model" not in accepted) or (
            accepted is None and model is None and weights is None):
        # An exported file (--onnx, --engine) holds its own weights and says
        # which architecture it is: what was given must agree with it.
        if weights is not None:
            raise WeightsError(f"--weights is for the torch backend; the {backend} backend runs "
                               f"an exported file that carries its own weights: drop --weights")
        network = network_of(create_runner(backend, **runner_options), train_scale)
        _agree_with_file(network.runner, model=model, width_mult=width_mult,
                         num_classes=num_classes)
        return network
    if model is None:
        where = f"{weights} has no 'model' metadata" if weights else "no weights were given"
        raise WeightsError(f"which architecture? {where}: pass the model name (--model vgg16)")
    model = MODELS.get(model).name
    width_mult = facts.agree("width_mult", width_mult)
    num_classes = facts.agree("num_classes", num_classes)
    runner = create_runner(backend, model=model, weights=weights, width_mult=width_mult,
                           num_classes=num_classes, **runner_options)
    scale = train_scale or runner.train_scale
    return Network(runner, weights=None if weights is None else str(weights),
                   train_scale=TrainScale.parse(scale) if scale else None,
                   macs=runner_macs_counter(runner))


def _agree_with_file(runner: Runner, **given: Any) -> None:
    """Refuse a model, width or class count that contradicts the exported file."""
    facts = runner.facts
    for key, value in given.items():
        if value is None:
            continue
        if facts is None:
            raise WeightsError(f"the exported file does not record its {key}, so {value!r} cannot "
                               f"be checked: drop the option (the file decides)")
        recorded = facts.name if key == "model" else getattr(facts, key)
        if key == "model":
            value = MODELS.get(value).name
        if (float(recorded) != float(value) if key == "width_mult" else recorded != value):
            raise WeightsError(f"the exported file holds {key}={recorded!r}, not {value!r}: "
                               f"drop the option or pass the file exported for {value!r}")


def network_of(runner: Runner, train_scale: str | None = None) -> Network:
    """Wrap a ready runner (any backend) for evaluation."""
    facts = runner.facts
    train_scale = train_scale or runner.train_scale
    return Network(runner, weights=facts.weights if facts is not None else None,
                   train_scale=TrainScale.parse(train_scale) if train_scale else None,
                   macs=runner_macs_counter(runner))
