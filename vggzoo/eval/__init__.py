"""The paper's evaluation: protocols (single, dense, multi-crop, their
combination), multi-scale testing, ConvNet fusion and top-1/top-5 error, on
any runner backend.

>>> import vggzoo
>>> result = vggzoo.evaluate("vgg16", "vgg16.safetensors", "imagenet",
...                          protocol="dense", multi_scale=True)
"""

from .crops import grid_boxes, multi_crops
from .data import ImageSet, SkippedImage, find_images
from .evaluate import evaluate
from .loop import evaluate_protocols
from .network import Network, load_network
from .posteriors import protocol_posteriors
from .result import EvalResult
from .metrics import correct_at_k
from .protocols import EvalProtocol, WeightedAverage
from .scales import TrainScale, resolve_scales

__all__ = [
    "EvalProtocol", "EvalResult", "ImageSet", "Network", "SkippedImage", "TrainScale",
    "WeightedAverage", "correct_at_k", "evaluate", "evaluate_protocols", "find_images",
    "grid_boxes", "load_network", "multi_crops", "protocol_posteriors", "resolve_scales",
]

from .._lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, {}, globals())  # submodules on first use
