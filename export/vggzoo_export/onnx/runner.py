"""The ONNX Runtime runner: an exported network behind vggzoo's runner
interface, so every evaluation protocol runs on it unchanged
(``vggzoo eval --backend onnxruntime --onnx vgg16.onnx``).

Providers: ``"auto"`` takes the fastest one that can really run here —
TensorRT, then CUDA, then CPU.  onnxruntime-gpu lists the GPU providers even
on machines without a GPU or TensorRT (and then logs errors and falls back),
so "auto" only asks for a GPU provider when a GPU and, for TensorRT, its
library are present.  On GPU the input and output are bound with IO binding
(a CUDA torch tensor is read in place); on CPU one intra-op thread per
physical core, pinned (hyper-threads slow GEMM-bound convolutions down;
ONNX Runtime's own default count, which it only pins when left at 0), and
no inter-op parallelism (the graph is a chain).
"""

from __future__ import annotations

import ctypes.util
import importlib.util
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from vggzoo.errors import VggzooError
from vggzoo.runtime.machine import physical_cores  # noqa: F401  (re-exported: bench scripts use it)
from vggzoo.runtime.base import Runner, run_in_pieces
from vggzoo.data.scales import parse_scales
from vggzoo.models.cfg import PretrainedCfg

from ..core.contract import (DEFAULT_MAX_BATCH, GRAPH_KEY, INPUT_NAME, LOGITS_NAME,
                             PROTOCOL_GRAPH, SCORE_MAP_NAME)
from ..errors import ArtifactError
from ..core.metadata import ExportMetadata
from ..core.integrity import verify_onnx_file

TENSORRT, CUDA, CPU = "TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"
#: What each ``providers=`` shorthand asks for, fastest first.
PROVIDER_CHOICES: dict[str, tuple[str, ...]] = {
    "auto": (TENSORRT, CUDA, CPU),
    "tensorrt": (TENSORRT, CUDA, CPU),
    "cuda": (CUDA, CPU),
    "cpu": (CPU,),
}


def _gpu_present() -> bool:
    return torch.cuda.is_available() or Path("/dev/nvidiactl").exists()


def _tensorrt_present() -> bool:
    """TensorRT's library on the loader path, or pip's ``tensorrt`` wheels."""
    if any(importlib.util.find_spec(name) for name in ("tensorrt_libs", "tensorrt")):
        return True
    return any(ctypes.util.find_library(name) for name in ("nvinfer", "nvinfer_10", "nvinfer_11"))


def resolve_providers(providers: str | list | tuple = "auto") -> list:
    """Provider list for ``InferenceSession`` from a shorthand or an explicit list.

    >>> resolve_providers("cpu")
    ['CPUExecutionProvider']
    """
    import onnxruntime as ort

    if not isinstance(providers, str):
        return list(providers)
    if providers not in PROVIDER_CHOICES:
        raise VggzooError(f"unknown providers {providers!r}; choose one of "
                          f"{', '.join(PROVIDER_CHOICES)} or pass a list of ONNX Runtime providers")
    available = set(ort.get_available_providers())
    chosen = []
    for name in PROVIDER_CHOICES[providers]:
        if name not in available:
            continue
        if name != CPU and not _gpu_present():
            continue
        if name == TENSORRT and not _tensorrt_present():
            continue
        chosen.append(name)
    return chosen or [CPU]


def session_options(threads: int | None = None):
    """Thread and optimisation settings for a conv-net session."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    # 0 lets ONNX Runtime start one thread per physical core and pin each to
    # its core; setting the same count explicitly turns the pinning off and
    # measured 4-5% slower here.
    options.intra_op_num_threads = threads or 0
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # errors only; fallbacks are reported by .providers
    return options


def open_session(path: str | os.PathLike, *, providers: str | list | tuple = "auto",
                 threads: int | None = None, provider_options: dict[str, dict] | None = None):
    """An ``InferenceSession`` with clear errors for missing or corrupt files."""
    import onnxruntime as ort

    path = Path(path)
    verify_onnx_file(path)  # exists, parses, and its weights hash to what it records
    names = resolve_providers(providers)
    if names[0] != CPU and hasattr(ort, "preload_dlls"):
        ort.preload_dlls()  # CUDA/cuDNN from pip's nvidia-* wheels, when torch did not load them
    with_options = [(n, (provider_options or {}).get(n, {})) for n in names]
    try:
        return ort.InferenceSession(str(path), session_options(threads), providers=with_options)
    except Exception as exc:  # ORT raises its own pybind exception types
        raise ArtifactError(f"cannot load ONNX file {path}: {str(exc).strip()}. The file is "
                            f"corrupt, truncated or missing its .data companion; export it again "
                            f"with `vggzoo-export MODEL -o {path}`") from exc


class OrtRunner(Runner):
    """An exported vggzoo network on ONNX Runtime.

    >>> with OrtRunner("vgg16.onnx") as runner:
    ...     runner.posteriors(batch).shape
    torch.Size([8, 1000])
    """

    name = "onnxruntime"

    def __init__(self, path: str | os.PathLike, providers: str | list | tuple = "auto", *,
                 threads: int | None = None, trt_cache_dir: str | os.PathLike | None = None,
                 trt_scales: Sequence[int] | None = None,
                 trt_max_batch: int = DEFAULT_MAX_BATCH) -> None:
        self.path = Path(path)
        options = {}
        if TENSORRT in resolve_providers(providers):
            # TensorRT EP: profiles covering the test scales (both orientations),
            # engine and timing caches so the engine is built once per machine.
            from ..trt.ort_provider import tensorrt_provider_options
            from ..trt.profiles import default_profile_scales, derive_profiles

            cache = Path(trt_cache_dir or Path.home() / ".cache" / "vggzoo" / "tensorrt")
            cache.mkdir(parents=True, exist_ok=True)
            facts = _file_facts(self.path)
            profiles = derive_profiles(trt_scales or default_profile_scales(facts.train_scale),
                                       max_batch=trt_max_batch, channels=facts.in_chans)
            options = {TENSORRT: tensorrt_provider_options(INPUT_NAME, profiles, cache_dir=cache)}
        self.session = open_session(self.path, providers=providers, threads=threads,
                                    provider_options=options)
        props = self.session.get_modelmeta().custom_metadata_map
        if props.get(GRAPH_KEY) == PROTOCOL_GRAPH:
            raise ArtifactError(f"{self.path} is a whole-protocol graph (raw image in, posteriors "
                                f"out); run it with vggzoo_export.protocol.session.ProtocolSession")
        self.metadata = ExportMetadata.from_props(props, source=str(self.path))
        self.metadata.describe_runner(self)
        self.fixed_batch = self.metadata.fixed_batch
        #: Largest batch one session run takes: a fixed-batch file's batch, or
        #: the TensorRT provider's profiles' (larger batches are split).
        self.max_batch = self.fixed_batch or (trt_max_batch if TENSORRT in
                                              self.session.get_providers() else None)
        #: Providers the session really uses (after any fallback).
        self.providers: list[str] = self.session.get_providers()
        self.on_gpu = self.providers[0] != CPU

    def _check(self, batch: torch.Tensor) -> None:
        self.metadata.check_batch(batch, str(self.path))

    def run(self, batch: torch.Tensor, output: str = LOGITS_NAME) -> torch.Tensor:
        """One output (``"logits"`` or ``"score_map"``) for a preprocessed
        batch of any size (split to what the file or its profiles take)."""
        self._check(batch)
        if self.max_batch is None:
            return self._run_once(batch, output)
        return run_in_pieces(lambda piece: self._run_once(piece, output), batch, self.max_batch,
                             pad=self.fixed_batch is not None)

    def _run_once(self, batch: torch.Tensor, output: str) -> torch.Tensor:
        if self.on_gpu:
            return self._run_bound(batch, output)
        x = batch.detach().to("cpu", torch.float32).contiguous().numpy()
        return torch.from_numpy(self.session.run([output], {INPUT_NAME: x})[0])

    def _run_bound(self, batch: torch.Tensor, output: str) -> torch.Tensor:
        binding = self.session.io_binding()
        x = batch.detach().to(torch.float32).contiguous()
        if x.is_cuda:  # read the tensor in place on the GPU
            binding.bind_input(INPUT_NAME, "cuda", x.device.index or 0, np.float32,
                               tuple(x.shape), x.data_ptr())
        else:
            binding.bind_cpu_input(INPUT_NAME, x.numpy())
        binding.bind_output(output, "cuda")
        self.session.run_with_iobinding(binding)
        return torch.from_numpy(binding.copy_outputs_to_cpu()[0])

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        return self.run(batch, LOGITS_NAME)

    def score_map(self, batch: torch.Tensor) -> torch.Tensor:
        """The (N, K, h, w) class score map."""
        return self.run(batch, SCORE_MAP_NAME)

    def close(self) -> None:
        self.session = None  # type: ignore[assignment]


def _file_facts(path: Path) -> "PretrainedCfg":
    """The facts record of an exported file, before its session exists."""
    from ..core.metadata import read_onnx_metadata

    return read_onnx_metadata(path).facts


def build_ort_runner(*, onnx: str | os.PathLike | None = None, providers: str | None = None,
                     device: str | None = None, threads: int | None = None,
                     trt_cache_dir: str | os.PathLike | None = None,
                     trt_scales: str | Sequence[int] | None = None,
                     trt_max_batch: int = DEFAULT_MAX_BATCH) -> OrtRunner:
    """Factory for ``create_runner("onnxruntime", onnx=PATH)``: the file
    carries its own weights and metadata.  ``trt_*`` set the TensorRT
    execution provider's engine cache and optimization profiles
    (``--runner-option trt_scales=256,384,512``; default: the test scales
    of the file's recorded training scale and the 224 crops)."""
    if onnx is None:
        raise VggzooError("the onnxruntime backend needs an exported file: pass --onnx FILE "
                          "(make one with `vggzoo-export MODEL -o FILE`)")
    if providers is None:
        device = str(device or "auto")
        providers = "cpu" if device == "cpu" else "cuda" if device.startswith("cuda") else "auto"
    scales = None if trt_scales is None else tuple(parse_scales(trt_scales))
    return OrtRunner(onnx, providers, threads=threads, trt_cache_dir=trt_cache_dir,
                     trt_scales=scales, trt_max_batch=trt_max_batch)

