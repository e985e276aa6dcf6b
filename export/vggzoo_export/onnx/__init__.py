"""ONNX: export (:mod:`.export`), int8 quantisation (:mod:`.int8`) and the
ONNX Runtime runner (:mod:`.runner`)."""

from vggzoo._lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, {}, globals())  # submodules on first use
