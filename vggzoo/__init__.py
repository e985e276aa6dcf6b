"""vggzoo: the networks, training recipe and evaluation protocols of
"Very Deep Convolutional Networks for Large-Scale Image Recognition"
(Simonyan & Zisserman, ICLR 2015) as a plugin-based model zoo.

>>> import vggzoo
>>> vggzoo.list_models("vgg16*")
['vgg16', 'vgg16_bn', 'vgg16_c']
>>> m = vggzoo.create("vgg16", fully_conv=True)
"""

from importlib.metadata import PackageNotFoundError, version

from . import plugins
from .errors import (DuplicateNameError, InputSizeError, UnknownNameError, VggzooError,
                     WeightsError)
from ._lazy import lazy_attributes
from .plugins.hookspecs import hookimpl

#: Public names and the modules that define them, imported on first use:
#: ``import vggzoo`` (and pytest's plugin entry point) stays light, and
#: ``vggzoo list`` does not pay for evaluation, training or torchvision.
_LAZY = {
    "EvalResult": "eval.result", "evaluate": "eval.evaluate",
    "ModelInfo": "models.factory", "create": "models.factory", "list_models": "models.factory",
    "model_info": "models.factory", "to_fully_conv": "models.factory",
    "PredictResult": "eval.inference", "predict": "eval.inference",
    "VGG": "models.vgg",
    "PAPER": "data.preprocess", "TORCHVISION": "data.preprocess", "Preprocessing": "data.preprocess",
    "TrainConfig": "training", "Trainer": "training", "TrainResult": "training",
    "train": "training",
    "save_weights": "weights.files",
}


__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())

try:
    __version__ = version("vggzoo")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0+unknown"

__all__ = [
    "VGG", "EvalResult", "PAPER", "TORCHVISION", "DuplicateNameError", "InputSizeError", "ModelInfo",
    "Preprocessing", "UnknownNameError", "VggzooError", "WeightsError", "__version__",
    "PredictResult", "create", "evaluate", "hookimpl", "list_models", "model_info", "plugins",
    "predict", "save_weights",
    "to_fully_conv",
    "TrainConfig", "TrainResult", "Trainer", "train",
]
