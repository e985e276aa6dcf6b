"""The paper's training chain as named recipes.

A recipe is a set of :class:`~vggzoo.training.config.TrainConfig` defaults;
a config file and command-line options override it.

* ``paper-s256``: S = 256, lr 1e-2, ``kaiming-input`` init (the paper's
  Gaussian is ``--init paper``; use ``--init from-a --init-from A_RUN`` for
  configs B-E, as the paper did).
* ``paper-s384``: S = 384 initialised from an S = 256 run, lr 1e-3.
* ``paper-jitter``: S ~ U[256, 512], all layers fine-tuned from an S = 384 run
  of the same config.  The paper gives no learning rate for this stage; it
  uses the S = 384 stage's 1e-3.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from ..data import PAPER_AUGMENTATIONS

_COMMON: dict[str, Any] = {
    "batch_size": 256, "momentum": 0.9, "weight_decay": 5e-4, "dropout": 0.5,
    "crop": 224, "augment": list(PAPER_AUGMENTATIONS), "lr_drops": 3,
}

RECIPES: MappingProxyType = MappingProxyType({
    "paper-s256": {**_COMMON, "scale": "256", "lr": 1e-2, "init": "kaiming-input", "epochs": 74},
    "paper-s384": {**_COMMON, "scale": "384", "lr": 1e-3, "init": "from-checkpoint", "epochs": 74},
    "paper-jitter": {**_COMMON, "scale": "256:512", "lr": 1e-3, "init": "from-checkpoint",
                     "epochs": 74},
})
DEFAULT_RECIPE = "paper-s256"
