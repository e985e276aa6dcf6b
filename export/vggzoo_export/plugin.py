"""vggzoo-export's plugin (entry point ``vggzoo_export`` in the ``vggzoo``
group): the export formats and the runtimes that execute them.

Heavy imports (onnx, onnxruntime, torch._inductor) happen on use, so
loading vggzoo's plugins stays cheap.
"""

from __future__ import annotations

from typing import Any

from vggzoo.plugins.hookspecs import Register, hookimpl
from vggzoo.plugins import Lazy

#: The export formats: (name, exporter loaded on first use, info).  ``input``
#: says what each consumes (a model, or the file the named format wrote),
#: ``arguments`` its own ``vggzoo-export`` flag and options
#: (:mod:`vggzoo_export.cli.steps`), by which the CLI chains it.
EXPORT_FORMATS: list[tuple[str, Lazy, dict[str, Any]]] = [
    ("onnx", Lazy("vggzoo_export.onnx.export:export_onnx"),
     {"suffix": ".onnx", "input": "model",
      "description": "ONNX, dynamic batch/height/width, score map + logits"}),
    ("aoti", Lazy("vggzoo_export.aoti.package:export_aoti"),
     {"suffix": ".pt2", "input": "model",
      "description": "AOTInductor package (.pt2), runs without Python model code"}),
    ("int8", Lazy("vggzoo_export.onnx.int8:export_int8",
                  check="vggzoo_export.onnx.int8:check_int8"),
     {"suffix": ".int8.onnx", "input": "model", "arguments": "vggzoo_export.cli.steps:INT8",
      "description": "calibrated static int8 ONNX (QDQ), written only if it agrees with fp32 on "
                     "held-out images; --int8 --calibrate DIR"}),
    ("lpips-onnx", Lazy("vggzoo_export.perceptual.onnx:export_lpips_onnx"),
     {"suffix": ".lpips.onnx", "input": "model",
      "description": "LPIPS-VGG v0.1 on the model's trunk: x, y (float 0-1) in, distance out"}),
    ("lpips-int8", Lazy("vggzoo_export.perceptual.int8:export_lpips_int8"),
     {"suffix": ".lpips.int8.onnx", "input": "model",
      "description": "LPIPS as calibrated int8 ONNX, written only if its distances agree with "
                     "fp32; --export-option calibrate=DIR"}),
    ("protocol-dense", Lazy("vggzoo_export.protocol.exporter:export_dense_protocol"),
     {"suffix": ".dense.onnx", "input": "onnx", "arguments": "vggzoo_export.cli.steps:PROTOCOL",
      "description": "the paper's dense test protocol as one ONNX graph (uint8 image in, "
                     "posteriors out); --protocol dense"}),
    ("tensorrt", Lazy("vggzoo_export.trt.export:export_tensorrt",
                      check="vggzoo_export.trt.export:check_tensorrt"),
     {"suffix": ".plan", "input": "onnx", "arguments": "vggzoo_export.cli.steps:TENSORRT",
      "description": "TensorRT engine + .json sidecar from the ONNX file; --trt"}),
    ("triton", Lazy("vggzoo_export.triton.repository:export_triton",
                    check="vggzoo_export.triton.repository:check_triton"),
     {"suffix": "", "input": "onnx", "folder": True,
      "arguments": "vggzoo_export.cli.steps:TRITON",
      "description": "Triton model repository serving the ONNX file or engine; --triton REPO"}),
]


#: Runner factories, imported on use; their signatures are the options
#: ``create_runner`` checks (see :mod:`vggzoo.plugins.options`).
build_ort_runner = Lazy("vggzoo_export.onnx.runner:build_ort_runner")
build_trt_runner = Lazy("vggzoo_export.trt.runner:build_trt_runner")
build_aoti_runner = Lazy("vggzoo_export.aoti.package:build_aoti_runner")


@hookimpl
def vggzoo_register_exporters(register: Register) -> None:
    for name, exporter, info in EXPORT_FORMATS:
        register(name, exporter, **info)


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
