"""TensorRT engines for vggzoo models: precision written into the ONNX graph,
optimisation profiles from the paper's test scales, engine + JSON sidecar,
and :class:`TrtRunner` behind vggzoo's runner interface.

Nothing here imports ``tensorrt`` at import time: without it, building or
running an engine fails at once with :func:`missing_tensorrt_error`.  The
public names below load their module on first use, so importing one
submodule (``vggzoo_export.trt.profiles``) does not import the others.
"""

from vggzoo._lazy import lazy_attributes

_LAZY = {
    "import_tensorrt": "availability", "missing_tensorrt_error": "availability",
    "tensorrt_available": "availability",
    "build_engine": "builder", "parse_bytes": "builder",
    "PRECISIONS": "precision", "convert_onnx_file": "precision",
    "convert_precision": "precision",
    "Profile": "profiles", "derive_profiles": "profiles", "explicit_profile": "profiles",
    "parse_shape": "profiles", "select_profile": "profiles",
    "TrtRunner": "runner",
    "EngineMismatchError": "sidecar", "EngineSidecar": "sidecar", "read_sidecar": "sidecar",
}

__all__ = sorted(_LAZY)

__getattr__, __dir__ = lazy_attributes(__name__, _LAZY, globals())
