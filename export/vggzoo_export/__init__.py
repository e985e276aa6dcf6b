"""vggzoo-export: fully-convolutional export of vggzoo models (ONNX, ONNX
Runtime, AOTInductor; TensorRT in its own modules).  Export formats are vggzoo
plugins registered through ``vggzoo_register_exporters``; runtimes through
``vggzoo_register_runners``.

>>> from vggzoo_export import export_onnx, OrtRunner
>>> export_onnx(vggzoo.create("vgg16", weights="vgg16.pth"), "vgg16.onnx")
>>> OrtRunner("vgg16.onnx").logits(batch)
"""

from importlib.metadata import PackageNotFoundError, version

from vggzoo._lazy import lazy_attributes

try:
    __version__ = version("vggzoo-export")
except PackageNotFoundError:
    __version__ = "0+unknown"

#: Public names, imported on first use (onnxruntime and inductor are heavy).
_LAZY = {
    "export_onnx": "onnx.export", "OrtRunner": "onnx.runner",
    "export_protocol_graph": "protocol.graph", "ProtocolSession": "protocol.session",
    "export_aoti": "aoti.package", "AotiRunner": "aoti.package",
    "TrtRunner": "trt",
}

__all__ = ["__version__", *_LAZY]

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
