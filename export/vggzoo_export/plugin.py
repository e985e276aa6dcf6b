"""vggzoo-export's plugin (entry point ``vggzoo_export`` in the ``vggzoo``
group): the export formats and the runtimes that execute them.

Heavy imports (onnx, onnxruntime, torch._inductor) happen on use, so
loading vggzoo's plugins stays cheap.
"""

from __future__ import annotations

from typing import Any

from vggzoo.plugins.hookspecs import Register, hookimpl
from vggzoo.plugins.options import LazyCallable

from .core.exporter import LazyExporter

#: The export formats, each an :class:`vggzoo_export.core.exporter.Exporter`
#: loaded on first use.  ``input`` says what the exporter converts: a model,
#: or the file the named exporter wrote; ``folder`` marks a folder output.
EXPORT_FORMATS: list[tuple[LazyExporter, dict[str, Any]]] = [
    (LazyExporter("onnx", ".onnx.export", "export_onnx"),
     {"suffix": ".onnx", "input": "model",
      "description": "ONNX, dynamic batch/height/width, score map + logits"}),
    (LazyExporter("aoti", ".aoti.package", "export_aoti"),
     {"suffix": ".pt2", "input": "model",
      "description": "AOTInductor package (.pt2), runs without Python model code"}),
    (LazyExporter("int8", ".onnx.int8", "export_int8", check="check_int8"),
     {"suffix": ".int8.onnx", "input": "model",
      "description": "calibrated static int8 ONNX (QDQ), written only if it agrees with fp32 on "
                     "held-out images; --int8 --calibrate DIR"}),
    (LazyExporter("lpips-onnx", ".perceptual.onnx", "export_lpips_onnx"),
     {"suffix": ".lpips.onnx", "input": "model",
      "description": "LPIPS-VGG v0.1 on the model's trunk: x, y (float 0-1) in, distance out"}),
    (LazyExporter("lpips-int8", ".perceptual.int8", "export_lpips_int8"),
     {"suffix": ".lpips.int8.onnx", "input": "model",
      "description": "LPIPS as calibrated int8 ONNX, written only if its distances agree with "
                     "fp32; --export-option calibrate=DIR"}),
    (LazyExporter("protocol-dense", ".protocol.exporter", "export_dense_protocol"),
     {"suffix": ".dense.onnx", "input": "onnx",
      "description": "the paper's dense test protocol as one ONNX graph (uint8 image in, "
                     "posteriors out); --protocol dense"}),
    (LazyExporter("tensorrt", ".trt.export", "export_tensorrt", check="check_tensorrt"),
     {"suffix": ".plan", "input": "onnx",
      "description": "TensorRT engine + .json sidecar from the ONNX file; --trt"}),
    (LazyExporter("triton", ".triton.repository", "export_triton", check="check_triton"),
     {"suffix": "", "input": "onnx", "folder": True,
      "description": "Triton model repository serving the ONNX file or engine; --triton REPO"}),
]


#: Runner factories, imported on use; their signatures are the options
#: ``create_runner`` checks (see :mod:`vggzoo.plugins.options`).
build_ort_runner = LazyCallable("vggzoo_export.onnx.runner:build_ort_runner")
build_trt_runner = LazyCallable("vggzoo_export.trt.runner:build_trt_runner")
build_aoti_runner = LazyCallable("vggzoo_export.aoti.package:build_aoti_runner")


@hookimpl
def vggzoo_register_exporters(register: Register) -> None:
    for exporter, info in EXPORT_FORMATS:
        register(exporter.name, exporter, **info)


@hookimpl
def vggzoo_register_runners(register: Register) -> None:
    # suffix / file_option: see vggzoo.runtime.files.open_file
    register("onnxruntime", build_ort_runner, aliases=["ort"], suffix=".onnx", file_option="onnx",
             flags={"--onnx": ("onnx", "an exported .onnx file (vggzoo-export MODEL -o FILE)"),
                    "--providers": ("providers", "ONNX Runtime execution providers: auto, "
                                                 "tensorrt, cuda or cpu")},
             description="ONNX Runtime on an exported .onnx file (TensorRT > CUDA > CPU EP)")
    register("tensorrt", build_trt_runner, aliases=["trt"], suffix=".plan", file_option="engine",
             flags={"--engine": ("engine", "a TensorRT engine (vggzoo-export MODEL --trt)")},
             description="TensorRT engine (vggzoo-export MODEL --trt) on an NVIDIA GPU")
    register("aoti", build_aoti_runner, suffix=".pt2", file_option="package",
             flags={"--aoti": ("package", "an AOTInductor package (vggzoo-export MODEL "
                                          "--format aoti)")},
             description="AOTInductor package (.pt2) made by vggzoo-export --format aoti")


def ensure_registered() -> None:
    """Register this plugin when its entry point is not installed (a source
    checkout run with PYTHONPATH); a no-op once ``pip install ./export`` ran."""
    import sys

    import vggzoo

    plugin = sys.modules[__name__]
    if not vggzoo.plugins.get_plugin_manager().is_registered(plugin):
        vggzoo.plugins.register(plugin, name="vggzoo_export")
