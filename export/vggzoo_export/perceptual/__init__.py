"""LPIPS (vggzoo.perceptual) as ONNX and int8 ONNX, and its ONNX Runtime runner."""

from vggzoo._lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, {}, globals())  # submodules on first use
