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
from .eval import EvalResult, evaluate
from .factory import ModelInfo, create, list_models, model_info, to_fully_conv
from .hookspecs import hookimpl
from .inference import PredictResult, predict
from .model import VGG
from .preprocess import PAPER, TORCHVISION, Preprocessing
from .training import TrainConfig, Trainer, TrainResult, train
from .weights import save_weights

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
