"""Training with the paper's recipe: initializers, named recipes, atomic
checkpoints with exact resume, and the training loop (single process or DDP
under ``torchrun``).

>>> import vggzoo
>>> result = vggzoo.train(model="vgg11", data="digits/", out="runs/a", epochs=3)
"""

from .config import TrainConfig, resolve_config
from .trainer import Trainer, TrainResult, train

__all__ = ["TrainConfig", "TrainResult", "Trainer", "resolve_config", "train"]
