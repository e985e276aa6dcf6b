"""Where TensorRT comes from, and the one error when it is missing.

``import tensorrt`` happens only inside the functions of this package that
need it, so ``vggzoo_export`` imports (and the rest of the exporter runs) on
machines without TensorRT or a GPU.
"""

from __future__ import annotations

import re
from types import ModuleType

from vggzoo.errors import BackendUnavailableError

#: Oldest TensorRT with strongly typed networks built from typed ONNX graphs
#: (the precision lives in the graph; see :mod:`.precision`).
MIN_TENSORRT_VERSION = (10, 12)
INSTALL_COMMAND = 'pip install "vggzoo-export[tensorrt]"'


def missing_tensorrt_error(reason: str = "is not installed") -> BackendUnavailableError:
    """The error for ``--trt`` / ``--backend tensorrt`` without TensorRT:
    names the package and how to install it."""
    low = ".".join(map(str, MIN_TENSORRT_VERSION))
    return BackendUnavailableError(
        f"TensorRT {reason}: the Python package 'tensorrt' (>= {low}) builds and runs "
        f"engines. Install it with `{INSTALL_COMMAND}` on a machine with an NVIDIA GPU "
        f"that reaches NVIDIA's package index (pypi.nvidia.com); without it use "
        f"--backend onnxruntime")


def parse_version(text: str) -> tuple[int, ...]:
    """``"10.13.0.35"`` -> ``(10, 13, 0, 35)``; ``"11.0.0rc1"`` -> ``(11, 0, 0)``."""
    match = re.match(r"\d+(?:\.\d+)*", text)
    return tuple(int(p) for p in match.group(0).split(".")) if match else ()


def import_tensorrt() -> ModuleType:
    """``tensorrt``, or :func:`missing_tensorrt_error` when it is missing or too old."""
    try:
        import tensorrt
    except ImportError as exc:
        raise missing_tensorrt_error() from exc
    if parse_version(tensorrt.__version__)[:2] < MIN_TENSORRT_VERSION:
        raise missing_tensorrt_error(f"{tensorrt.__version__} is too old")
    return tensorrt


def tensorrt_available() -> bool:
    """Whether a usable TensorRT is importable (tests skip on False)."""
    try:
        import_tensorrt()
    except BackendUnavailableError:
        return False
    return True


#: TensorRT data types by attribute name -> the numpy/torch name vggzoo records.
_DTYPE_NAMES = {"FLOAT": "float32", "HALF": "float16", "BF16": "bfloat16", "INT8": "int8",
                "UINT8": "uint8", "INT32": "int32", "INT64": "int64", "BOOL": "bool"}


def dtype_name(trt: ModuleType, dtype: object) -> str:
    """``trt.DataType.HALF`` -> ``"float16"`` (names shared with numpy and torch)."""
    for attr, name in _DTYPE_NAMES.items():
        if getattr(trt.DataType, attr, None) == dtype:
            return name
    raise BackendUnavailableError(f"TensorRT data type {dtype} is not supported by vggzoo")
