"""Build a TensorRT engine from a fully-convolutional ONNX file.

One code path for TensorRT 10.12+ and 11: the network is strongly typed
(the flag is required on 10.x and ignored on 11, where every network is),
so the engine's precision is the ONNX graph's (:mod:`.precision` writes
fp16/bf16 into it); no precision builder flags, which TensorRT 11 removed.

The timing cache (kernel timings) is reused across builds, so rebuilding for
other profiles or precisions on the same GPU is much faster.  The engine and
its JSON sidecar (:mod:`.sidecar`) are written atomically.

>>> sidecar = build_engine("vgg16.onnx", "vgg16.plan", precision="fp16",
...                        profiles=derive_profiles([256, 384, 512], max_batch=32))
"""

from __future__ import annotations

import datetime as _dt
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import onnx

import vggzoo
from vggzoo.errors import BackendUnavailableError, OptionError, VggzooError
from vggzoo.io import atomic_path

from .availability import dtype_name, import_tensorrt
from .precision import check_precision, convert_onnx_file
from .profiles import Profile, derive_profiles, format_shape
from .sidecar import (EngineSidecar, GpuInfo, TensorInfo, sha256_file, write_sidecar)

DEFAULT_WORKSPACE = 4 << 30
_UNITS = {"": 1, "b": 1, "k": 10**3, "kb": 10**3, "m": 10**6, "mb": 10**6, "g": 10**9,
          "gb": 10**9, "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40, "t": 10**12,
          "tb": 10**12}


def parse_bytes(text: str | int) -> int:
    """``"4GiB"`` -> 4294967296; ``"512MB"``, ``"1e9"`` and plain byte counts too."""
    if isinstance(text, int):
        value, unit = float(text), ""
    else:
        match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:e[0-9]+)?)\s*([a-zA-Z]*)\s*", str(text))
        if not match or match.group(2).lower() not in _UNITS:
            raise OptionError(f"cannot read size {text!r}: write e.g. 4GiB, 512MiB or 2000000000")
        value, unit = float(match.group(1)), match.group(2).lower()
    size = int(value * _UNITS[unit])
    if size <= 0:
        raise OptionError(f"size {text!r} must be positive")
    return size


def current_gpu(device: int | None = None) -> GpuInfo:
    """Name and compute capability of the CUDA device TensorRT will use."""
    import torch

    if not torch.cuda.is_available():
        raise BackendUnavailableError("TensorRT needs a CUDA GPU and none is visible "
                                      "(torch.cuda.is_available() is False); use "
                                      "--backend onnxruntime or torch on this machine")
    index = torch.cuda.current_device() if device is None else device
    major, minor = torch.cuda.get_device_capability(index)
    return GpuInfo(torch.cuda.get_device_name(index), f"{major}.{minor}")


def default_timing_cache(tensorrt_version: str, gpu: GpuInfo) -> Path:
    """Per TensorRT version and GPU architecture, under the user cache dir."""
    root = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "vggzoo" / "tensorrt"
    return root / f"timing-trt{tensorrt_version}-sm{gpu.compute_capability.replace('.', '')}.cache"


def network_flags(trt: ModuleType) -> int:
    """Creation flags for a strongly typed network on TensorRT 10 and 11
    (the enum value moved between them; the name did not)."""
    flag = getattr(trt.NetworkDefinitionCreationFlag, "STRONGLY_TYPED", None)
    return 0 if flag is None else 1 << int(flag)


def onnx_metadata(path: str | os.PathLike) -> dict[str, str]:
    """The metadata entries of an ONNX file (model name, preprocessing, ...)."""
    from ..core.integrity import load_onnx

    model = load_onnx(path, external_data=False)
    return {prop.key: prop.value for prop in model.metadata_props}


def build_engine(onnx_path: str | os.PathLike, engine_path: str | os.PathLike, *,
                 precision: str = "fp32", profiles: Sequence[Profile] | None = None,
                 workspace: int | str | None = DEFAULT_WORKSPACE,
                 timing_cache: str | os.PathLike | None = None,
                 build_args: dict[str, Any] | None = None,
                 log: Callable[[str], None] | None = None) -> EngineSidecar:
    """Build ``engine_path`` (+ its ``.json`` sidecar) from an fp32 ONNX file.

    ``precision`` fp16/bf16 converts the graph first (:mod:`.precision`);
    ``profiles`` default to :func:`derive_profiles` of the paper's scales;
    ``timing_cache`` defaults to :func:`default_timing_cache`.  ``log``
    receives progress lines (the CLI shows them); a library never prints.
    """
    log = log or (lambda _msg: None)
    trt = import_tensorrt()
    check_precision(precision)
    profiles = list(profiles) if profiles else derive_profiles()
    gpu = current_gpu()
    source, engine_path = Path(onnx_path), Path(engine_path)
    if not source.is_file():
        raise VggzooError(f"ONNX file {source} does not exist; export one with "
                          f"`vggzoo-export MODEL -o {source}`")
    cache = Path(timing_cache) if timing_cache else default_timing_cache(trt.__version__, gpu)
    workspace_bytes = parse_bytes(workspace) if workspace is not None else None
    log(f"building a {precision} TensorRT {trt.__version__} engine for {gpu.name} from "
        f"{source}; profiles: " + "; ".join(p.describe() for p in profiles))
    with tempfile.TemporaryDirectory(prefix="vggzoo-trt-") as tmp:
        typed = source
        if precision != "fp32":
            typed = convert_onnx_file(source, Path(tmp) / f"{source.stem}.{precision}.onnx",
                                      precision)
        plan, inputs, outputs = _build_plan(trt, typed, profiles, workspace_bytes, cache, log)
    with atomic_path(engine_path) as tmp_engine:
        tmp_engine.write_bytes(plan)
    sidecar = EngineSidecar(
        tensorrt_version=trt.__version__, gpu=gpu, precision=precision, profiles=profiles,
        inputs=inputs, outputs=outputs,
        source_onnx={"path": str(source), "sha256": sha256_file(source)},
        engine_sha256=sha256_file(engine_path), vggzoo_version=vggzoo.__version__,
        vggzoo_export_version=_export_version(), onnx_metadata=onnx_metadata(source),
        build={"workspace": workspace_bytes, "timing_cache": str(cache), **(build_args or {})},
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"))
    write_sidecar(engine_path, sidecar)
    log(f"wrote {engine_path} ({engine_path.stat().st_size / 2**20:.0f} MiB) and its sidecar")
    return sidecar


def _export_version() -> str:
    from vggzoo_export import __version__  # the package imports this module

    return __version__


def _build_plan(trt: ModuleType, onnx_path: Path, profiles: Sequence[Profile],
                workspace: int | None, cache_path: Path,
                log: Callable[[str], None]) -> tuple[bytes, list[TensorInfo], list[TensorInfo]]:
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(network_flags(trt))
    parser = trt.OnnxParser(network, logger)
    if not parser.parse_from_file(str(onnx_path)):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise VggzooError(f"TensorRT cannot parse {onnx_path}: {errors}")
    if network.num_inputs != 1:
        raise VggzooError(f"expected a network with one image input, {onnx_path} has "
                          f"{network.num_inputs}")
    image = network.get_input(0)
    if len(image.shape) != 4 or image.shape[1] not in (-1, profiles[0].min[1]):
        raise VggzooError(f"input {image.name!r} has shape {tuple(image.shape)}; the profiles "
                          f"need (N, {profiles[0].min[1]}, H, W)")
    config = builder.create_builder_config()
    if workspace:
        config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, workspace)
    cache_bytes = cache_path.read_bytes() if cache_path.is_file() else b""
    cache = config.create_timing_cache(cache_bytes)
    if not config.set_timing_cache(cache, False):
        log(f"timing cache {cache_path} is from another GPU or TensorRT; starting a new one")
        config.set_timing_cache(config.create_timing_cache(b""), False)
    for profile in profiles:
        trt_profile = builder.create_optimization_profile()
        trt_profile.set_shape(image.name, profile.min, profile.opt, profile.max)
        config.add_optimization_profile(trt_profile)
    plan = builder.build_serialized_network(network, config)
    if plan is None:
        raise VggzooError(f"TensorRT could not build an engine from {onnx_path} for "
                          f"{', '.join(format_shape(p.max) for p in profiles)} (the TensorRT "
                          f"log above says why; a smaller --max-batch or --workspace change "
                          f"often helps)")
    cache_path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(cache_path) as tmp:
        tmp.write_bytes(bytes(config.get_timing_cache().serialize()))

    def describe(tensor: Any) -> TensorInfo:
        return TensorInfo(tensor.name, dtype_name(trt, tensor.dtype), tuple(tensor.shape))

    return (bytes(plan), [describe(network.get_input(i)) for i in range(network.num_inputs)],
            [describe(network.get_output(i)) for i in range(network.num_outputs)])
