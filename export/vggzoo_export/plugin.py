"""vggzoo-export's plugin (entry point ``vggzoo_export`` in the ``vggzoo``
group): the export formats and the runtimes that execute them.

Heavy imports (onnx, onnxruntime, torch._inductor) happen on use, so
loading vggzoo's plugins stays cheap.
"""

from __future__ import annotations

from typing import Any

from vggzoo.hookspecs import Register, hookimpl
from vggzoo.options import LazyCallable


def export_onnx(model: Any, output: Any, **options: Any) -> Any:
    """ONNX exporter entry (see :func:`vggzoo_export.onnx_export.export_onnx`)."""
    from .onnx_export import export_onnx as export

    return export(model, output, **options)


def export_aoti(model: Any, output: Any, **options: Any) -> Any:
    """AOTInductor exporter entry (see :func:`vggzoo_export.aoti.export_aoti`)."""
    from .aoti import export_aoti as export

    return export(model, output, **options)


#: Runner factories, imported on use; their signatures are the options
#: ``create_runner`` checks (see :mod:`vggzoo.options`).
build_ort_runner = LazyCallable("vggzoo_export.ort_runner:build_ort_runner")
build_trt_runner = LazyCallable("vggzoo_export.trt.runner:build_trt_runner")
build_aoti_runner = LazyCallable("vggzoo_export.aoti:build_aoti_runner")


@hookimpl
def vggzoo_register_exporters(register: Register) -> None:
    register("onnx", export_onnx, suffix=".onnx",
             description="ONNX, dynamic batch/height/width, score map + logits")
    register("aoti", export_aoti, suffix=".pt2",
             description="AOTInductor package (.pt2), runs without Python model code")


@hookimpl
def vggzoo_register_runners(register: Register) -> None:
    register("onnxruntime", build_ort_runner, aliases=["ort"],
             description="ONNX Runtime on an exported .onnx file (TensorRT > CUDA > CPU EP)")
    register("tensorrt", build_trt_runner, aliases=["trt"],
             description="TensorRT engine (vggzoo-export MODEL --trt) on an NVIDIA GPU")
    register("aoti", build_aoti_runner,
             description="AOTInductor package (.pt2) made by vggzoo-export --format aoti")


def ensure_registered() -> None:
    """Register this plugin when its entry point is not installed (a source
    checkout run with PYTHONPATH); a no-op once ``pip install ./export`` ran."""
    import sys

    import vggzoo

    plugin = sys.modules[__name__]
    if not vggzoo.plugins.get_plugin_manager().is_registered(plugin):
        vggzoo.plugins.register(plugin, name="vggzoo_export")
