"""Training with the paper's recipe: initializers, named recipes, atomic
checkpoints with exact resume, and the training loop (single process or DDP
under ``torchrun``).

>>> import vggzoo
>>> result = vggzoo.train(model="vgg11", data="digits/", out="runs/a", epochs=3)
"""

from .._lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, {
    "TrainConfig": "config", "resolve_config": "config",
    "Trainer": "trainer", "TrainResult": "result", "train": "api"}, globals())

__all__ = ["TrainConfig", "TrainResult", "Trainer", "resolve_config", "train"]
