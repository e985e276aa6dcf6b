"""Weight initializers, registered through ``vggzoo_register_initializers``.

``obj(model, **options)`` initialises ``model`` in place; options an
initializer does not use are ignored, so the trainer passes the same ones to
all (``checkpoint``: a weights file or run directory, ``std``).

* ``kaiming-input`` (the default): He normal weights (fan-in, ReLU gain),
  biases 0, with the scale of the input (the RMS of a batch of training
  inputs, ~60 for mean-subtracted 0-255 pixels) divided out evenly over all
  weight layers, so activations stay at unit scale, and the last layer
  zero (uniform posteriors at the start).  Plain VGG-A at width 1/8 learns
  the digits with it (the paper's Gaussian does not, see below).
* ``paper``: weights ~ N(0, std^2), biases 0, default std 0.01: the Caffe
  reproductions' (and torchvision's) reading of the paper's "zero mean and
  10^-2 variance".  The literal reading, std 0.1 (``--init-std 0.1``), sends
  0-255 inputs to loss 331 and then NaN in the first steps.  Even std 0.01
  only trains when the net is wide: at width 1/8 the signal shrinks ~300x a
  layer and training stays at chance (measured on the digits).
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

import math
import os
from typing import Any

import torch
from torch import nn

from ..models.configs import LAYOUTS
from ..errors import ConfigError, WeightsError
from ..plugins.hookspecs import Register, hookimpl
from ..models.vgg import HEAD_LAYERS, VGG, make_features
from ..weights.files import load_into, read_weights

#: Number of conv layers of config A that the deeper nets inherit.
FROM_A_CONVS = 4


def _weight_layers(model: nn.Module) -> list[nn.Module]:
    return [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]


#: std of the ``paper`` initializer: 0.01, the Caffe reading of "variance 10^-2".
PAPER_STD = 0.01
#: RMS of mean-subtracted 0-255 ImageNet pixels (torchvision's std x 255), for
#: ``kaiming-input`` called without a batch.
PIXEL_RMS_255 = 57.6


def init_paper(model: nn.Module, *, std: float | None = None, **_: Any) -> None:
    """Weights ~ N(0, std^2), biases 0 (default std 0.01; 0.1 is the
    literal "variance 1e-2", which diverges on 0-255 inputs)."""
    std = PAPER_STD if std is None else std
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


@torch.no_grad()
def init_kaiming_input(model: nn.Module, *, batch: torch.Tensor | None = None,
                       **_: Any) -> None:
    """He normal (fan-in, ReLU) weights, biases 0, then every weight layer
    multiplied by ``rms ** (-1 / layers)``, where ``rms`` is the RMS of
    ``batch`` (training inputs as the model sees them; :data:`PIXEL_RMS_255`
    without one).

    A ReLU network with zero biases is positively homogeneous, so this is the
    function He initialisation gives on unit-scale inputs, with the input's
    scale (~60 for mean-subtracted 0-255 pixels) divided out: activations
    end at unit scale instead of ~60x too large (the literal paper init
    gives logits in the hundreds, then NaN).  Spreading the factor evenly,
    rather than putting it all in the first layer, keeps every layer's
    relative gradient step the same size: a first conv scaled by 1/60 alone
    gets steps ~10^4 times too large for its weights and diverges at lr 1e-2
    (measured on the digits).  The last layer starts at zero (uniform
    posteriors, loss ln K), which ended the initial plateau of plain VGG-A on
    the digits: 71% after one epoch instead of chance (measured, width 1/8).

    >>> init_kaiming_input(model, batch=images)   # images: (N, 3, 224, 224)
    """
    layers = _weight_layers(model)
    for layer in layers:
        nn.init.kaiming_normal_(layer.weight, mode="fan_in", nonlinearity="relu")
        nn.init.zeros_(layer.bias)
    spread_input_scale(model, input_rms(batch))
    nn.init.zeros_(layers[-1].weight)  # the classifier starts at uniform posteriors


def input_rms(batch: torch.Tensor | None) -> float:
    """RMS of a batch of network inputs (:data:`PIXEL_RMS_255` without one)."""
    rms = PIXEL_RMS_255 if batch is None else float(batch.double().pow(2).mean().sqrt())
    if not math.isfinite(rms) or rms <= 0:
        raise ConfigError(f"the training batch has RMS {rms}: the initializer cannot scale the "
                          f"network to it; check the data and --stats")
    return rms


@torch.no_grad()
def spread_input_scale(model: nn.Module, rms: float) -> None:
    """Divide ``rms`` out of the network evenly: every weight layer times
    ``rms ** (-1 / layers)``.  For initializers whose layers assume unit-scale
    inputs; plugins (LSUV) use it too."""
    layers = _weight_layers(model)
    factor = rms ** (-1 / len(layers))
    for layer in layers:
        layer.weight.mul_(factor)


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
    register("kaiming-input", init_kaiming_input, needs_batch=True,
             description="He normal (fan-in) weights with the input's RMS divided out evenly "
                         "over the layers, zero last layer and biases (default)")
    register("paper", init_paper,
             description="N(0, 0.01^2) weights (paper's 'variance 1e-2' as Caffe reads it; "
                         "--init-std 0.1 for the literal reading), zero biases")
    register("glorot", init_glorot, description="Glorot/Xavier uniform weights, zero biases")
    register("kaiming", init_kaiming, description="He normal (fan-in, ReLU) weights, zero biases")
    register("from-a", init_from_a,
             description="first four convs + three FC layers from a trained config A, rest paper")
    register("from-checkpoint", init_from_checkpoint, description="all layers from a checkpoint")
