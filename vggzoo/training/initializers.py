"""Weight initializers, registered through ``vggzoo_register_initializers``.

``obj(model, **options)`` initialises ``model`` in place; options an
initializer does not use are ignored, so the trainer passes the same ones to
all (``checkpoint``: a weights file or run directory, ``std``).

* ``paper``: weights ~ N(0, std^2), biases 0.  The paper says "zero mean and
  10^-2 variance"; PAPER.md reads that literally, so the default std is 0.1.
  torchvision (and the authors' released Caffe setup) use std 0.01: pass
  ``std=0.01`` (``--init-std 0.01``) for that.
* ``glorot``: Glorot/Xavier uniform weights, biases 0 (what the authors later
  found trains without pre-training).
* ``kaiming``: He normal weights (fan-in, ReLU gain), biases 0.
* ``from-a``: the paper's init of the deeper nets: the first four conv layers
  and the three FC layers copied from a trained config-A checkpoint, the rest
  ``paper``.  A's first four convs are conv1_1, conv2_1, conv3_1, conv3_2 and
  are copied to the layers of the same name (stage, position in stage) in the
  deeper net, whose shapes then match.
* ``from-checkpoint``: every layer from a checkpoint (the S=256 -> S=384 ->
  jitter chain); a classifier of another class count stays freshly
  initialised.
"""

from __future__ import annotations

import os
from typing import Any

import torch
from torch import nn

from ..configs import LAYOUTS
from ..errors import ConfigError, WeightsError
from ..hookspecs import Register, hookimpl
from ..model import HEAD_LAYERS, VGG, make_features
from ..weights import load_into, read_weights

#: Number of conv layers of config A that the deeper nets inherit.
FROM_A_CONVS = 4


def _weight_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


def init_paper(model: nn.Module, *, std: float = 0.1, **_: Any) -> None:
    """Weights ~ N(0, std^2), biases 0 (std 0.1 = the paper's variance 1e-2)."""
    for layer in _weight_layers(model):
        nn.init.normal_(layer.weight, 0.0, std)
        nn.init.zeros_(layer.bias)


def init_glorot(model: nn.Module, **_: Any) -> None:
    """Glorot (Xavier) uniform weights, biases 0."""
    for layer in _weight_layers(model):
        nn.init.xavier_uniform_(layer.weight)
        nn.init.zeros_(layer.bias)


def init_kaiming(model: nn.Module, **_: Any) -> None:
    """He normal weights (fan-in, ReLU), biases 0."""
    for layer in _weight_layers(model):
        nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
        nn.init.zeros_(layer.bias)


def checkpoint_state(checkpoint: str | os.PathLike | None, initializer: str) -> dict[str, torch.Tensor]:
    """Tensors of a weights file, a training checkpoint, a run directory
    (its ``model.safetensors``) or named weights (``vgg16.tv_in1k``)."""
    if checkpoint is None:
        raise ConfigError(f"initializer {initializer!r} needs a checkpoint: pass --init-from "
                          f"RUN_DIR, a .safetensors/.pt file or named weights (vgg16.tv_in1k)")
    state, _ = read_weights(checkpoint)
    return state


def conv_names(features: nn.Sequential) -> dict[str, str]:
    """``{"conv1_1": "features.0", ...}``: the paper's layer names (stage,
    position in stage) of a trunk's convs, mapped to state-dict prefixes."""
    names: dict[str, str] = {}
    stage, position = 1, 0
    for index, layer in enumerate(features):
        if isinstance(layer, nn.MaxPool2d):
            stage, position = stage + 1, 0
        elif isinstance(layer, nn.Conv2d):
            position += 1
            names[f"conv{stage}_{position}"] = f"features.{index}"
    return names


def init_from_a(model: nn.Module, *, checkpoint: str | os.PathLike | None = None,
                std: float = 0.1, **_: Any) -> None:
    """The paper's init of configs B-E from a trained A: copy A's first four
    conv layers and its three FC layers; the rest ``paper``."""
    if not isinstance(model, VGG):
        raise ConfigError("from-a needs a vggzoo VGG model")
    state = checkpoint_state(checkpoint, "from-a")
    init_paper(model, std=std)
    a_convs = list(conv_names(make_features(LAYOUTS["A"])).items())[:FROM_A_CONVS]
    own = conv_names(model.features)
    prefixes = [(own[name], a_prefix) for name, a_prefix in a_convs]
    prefixes += [(f"classifier.{i}", f"classifier.{i}") for i in HEAD_LAYERS]
    copied = {}
    for target, source in prefixes:
        for kind in ("weight", "bias"):
            key = f"{source}.{kind}"
            if key not in state:
                raise WeightsError(f"{checkpoint} is not a config-A checkpoint: it has no {key}")
            copied[f"{target}.{kind}"] = state[key]
    mine = model.state_dict()
    wrong = [f"{k}: checkpoint {tuple(v.shape)} vs model {tuple(mine[k].shape)}"
             for k, v in copied.items() if v.numel() != mine[k].numel()]
    if wrong:
        raise WeightsError(f"from-a: {checkpoint} does not fit this model ({'; '.join(wrong[:3])}). "
                           f"Train A with the same width_mult and class count")
    model.load_state_dict(copied, strict=False)


def init_from_checkpoint(model: nn.Module, *, checkpoint: str | os.PathLike | None = None,
                         **_: Any) -> None:
    """Every layer from a checkpoint (the single-scale -> jitter chain)."""
    load_into(model, checkpoint_state(checkpoint, "from-checkpoint"), source=str(checkpoint))


@hookimpl
def vggzoo_register_initializers(register: Register) -> None:
    register("paper", init_paper, description="N(0, 0.1^2) weights (paper: variance 1e-2), zero biases")
    register("glorot", init_glorot, description="Glorot/Xavier uniform weights, zero biases")
    register("kaiming", init_kaiming, description="He normal (fan-in, ReLU) weights, zero biases")
    register("from-a", init_from_a,
             description="first four convs + three FC layers from a trained config A, rest paper")
    register("from-checkpoint", init_from_checkpoint, description="all layers from a checkpoint")
