"""Runtimes: one small interface that every backend implements, so an
evaluation protocol is written once and runs on PyTorch, ONNX Runtime,
TensorRT or a third-party backend (registered through
``vggzoo_register_runners``)."""

from .base import Runner, create_runner
from .files import backend_for_file, open_file
from .torch_runner import TorchRunner

__all__ = ["Runner", "TorchRunner", "backend_for_file", "create_runner", "open_file"]

from .._lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, {}, globals())  # submodules on first use
