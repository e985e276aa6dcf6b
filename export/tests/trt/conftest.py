"""Fixtures of the TensorRT / Triton tests (helpers live in trt_helpers.py,
a module name no other test folder uses)."""

from trt_helpers import tensorrt_runner_registered, tiny_onnx  # noqa: F401  (fixtures)
