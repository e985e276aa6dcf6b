"""TensorRT engines for vggzoo models: precision written into the ONNX graph,
optimisation profiles from the paper's test scales, engine + JSON sidecar,
and :class:`TrtRunner` behind vggzoo's runner interface.

Nothing here imports ``tensorrt`` at import time: without it, building or
running an engine fails at once with :func:`missing_tensorrt_error`.
"""

from .availability import import_tensorrt, missing_tensorrt_error, tensorrt_available
from .builder import build_engine, parse_bytes
from .precision import PRECISIONS, compare_logits, convert_onnx_file, convert_precision
from .profiles import Profile, derive_profiles, explicit_profile, parse_shape, select_profile
from .runner import TrtRunner
from .sidecar import EngineMismatchError, EngineSidecar, read_sidecar

__all__ = [
    "PRECISIONS", "EngineMismatchError", "EngineSidecar", "Profile", "TrtRunner",
    "build_engine", "compare_logits", "convert_onnx_file", "convert_precision",
    "derive_profiles", "explicit_profile", "import_tensorrt", "missing_tensorrt_error",
    "parse_bytes", "parse_shape", "read_sidecar", "select_profile", "tensorrt_available",
]
