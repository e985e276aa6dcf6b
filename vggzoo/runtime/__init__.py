"""Runtimes: one small interface that every backend implements, so an
evaluation protocol is written once and runs on PyTorch, ONNX Runtime,
TensorRT or a third-party backend (registered through
``vggzoo_register_runners``)."""

from .base import Runner, create_runner
from .torch_runner import TorchRunner

__all__ = ["Runner", "TorchRunner", "create_runner"]
