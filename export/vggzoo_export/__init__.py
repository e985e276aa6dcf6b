"""vggzoo-export: fully-convolutional export of vggzoo models (ONNX, ONNX
Runtime, TensorRT).  Export formats are vggzoo plugins registered through
``vggzoo_register_exporters``."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("vggzoo-export")
except PackageNotFoundError:
    __version__ = "0+unknown"

from .trt import TrtRunner  # noqa: E402  (imports no tensorrt until used)
