"""The dense multi-scale protocol as one ONNX graph: ops, builder, exporter,
reference and session."""

from vggzoo._lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, {}, globals())  # submodules on first use
