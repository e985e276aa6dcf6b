"""Transfer learning: freeze the trunk (or its first layers) and give the
freshly initialised head its own learning rate.

``--freeze features`` freezes the whole conv trunk; ``--freeze conv4_3``
(the paper's layer names, see :func:`vggzoo.training.initializers.conv_names`)
or ``--freeze features.20`` freezes the trunk up to and including that layer.
Frozen batch-norm layers keep their running statistics (they stay in eval
mode while the rest trains).  ``--head-lr`` sets the learning rate of the
classifier (fc6-fc8); the trunk keeps ``--lr``.
"""

from __future__ import annotations

from typing import Any

from torch import nn

from ..errors import ConfigError

#: What ``--freeze`` takes besides a layer name.
WHOLE_TRUNK = "features"


def frozen_layers(model: nn.Module, upto: str) -> list[int]:
    """Indices into ``model.features`` that ``--freeze upto`` freezes."""
    from .initializers import conv_names

    count = len(model.features)
    if upto == WHOLE_TRUNK:
        return list(range(count))
    names = conv_names(model.features)
    prefix = names.get(upto, upto)
    index = prefix.removeprefix("features.")
    if not (prefix.startswith("features.") and index.isdigit() and int(index) < count):
        raise ConfigError(f"--freeze {upto!r}: write 'features' (the whole trunk), a conv layer "
                          f"name ({', '.join(list(names)[:3])}, ..., {list(names)[-1]}) or "
                          f"features.N (N < {count})")
    last = int(index)
    # Take the conv's batch norm and ReLU with it, up to the next conv or pool.
    while last + 1 < count and isinstance(model.features[last + 1], (nn.BatchNorm2d, nn.ReLU)):
        last += 1
    return list(range(last + 1))


def freeze(model: nn.Module, upto: str) -> list[str]:
    """Stop gradients of the trunk up to ``upto``; returns the frozen
    parameter names.  Frozen batch norms stay in eval mode during training."""
    layers = [model.features[i] for i in frozen_layers(model, upto)]
    names = []
    for index, layer in zip(frozen_layers(model, upto), layers):
        for name, param in layer.named_parameters():
            param.requires_grad_(False)
            names.append(f"features.{index}.{name}")
    norms = [layer for layer in layers if isinstance(layer, nn.BatchNorm2d)]
    if norms:
        def keep_eval(module: nn.Module, _inputs: Any) -> None:
            for norm in norms:
                norm.eval()

        model.register_forward_pre_hook(keep_eval)
    return names


def param_groups(model: nn.Module, lr: float, head_lr: float | None) -> list[dict[str, Any]]:
    """Optimizer parameter groups: trainable trunk at ``lr``, the classifier
    at ``head_lr`` (``lr`` when None); frozen parameters left out."""
    head = [p for p in model.classifier.parameters() if p.requires_grad]
    head_ids = {id(p) for p in head}
    trunk = [p for p in model.parameters() if p.requires_grad and id(p) not in head_ids]
    groups = [{"params": trunk, "lr": lr, "name": "trunk"},
              {"params": head, "lr": lr if head_lr is None else head_lr, "name": "head"}]
    return [g for g in groups if g["params"]]
