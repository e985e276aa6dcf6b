"""``TrtRunner``: a TensorRT engine behind the runner interface.

Buffers are torch CUDA tensors (no pycuda): the input is copied to the GPU
on the runner's own stream, TensorRT reads and writes the tensors' memory
through ``set_tensor_address`` and runs with ``execute_async_v3`` on that
non-default stream (the legacy default stream makes TensorRT add
synchronisations).  One execution context per optimisation profile, created
when first needed; a batch larger than a profile allows runs in pieces.

>>> runner = TrtRunner("vgg16.plan")
>>> runner.logits(batch).shape          # batch: (N, 3, H, W) float32
torch.Size([8, 1000])
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import torch

from vggzoo.errors import OptionError, VggzooError
from vggzoo.runtime.base import Runner

from ..core.metadata import ExportMetadata
from .availability import import_tensorrt
from .builder import current_gpu
from .profiles import select_profile
from .sidecar import (EngineMismatchError, EngineSidecar, TensorInfo, check_environment,
                      read_sidecar, verify_engine_file)

#: TensorRT requires 256-byte aligned tensor addresses.
ADDRESS_ALIGNMENT = 256


def logits_output(outputs: list[TensorInfo]) -> TensorInfo:
    """The (N, K) output among the engine's outputs (the score map is 4-D)."""
    two_d = [o for o in outputs if len(o.shape) == 2]
    if len(two_d) != 1:
        raise VggzooError(f"expected exactly one (N, K) logits output, the engine has "
                          f"{[(o.name, o.shape) for o in outputs]}")
    return two_d[0]


def split_batch(batch: torch.Tensor, max_batch: int) -> list[torch.Tensor]:
    """Consecutive pieces of at most ``max_batch`` images."""
    return list(torch.split(batch, max_batch)) if batch.shape[0] > max_batch else [batch]


class TrtRunner(Runner):
    """Runs a vggzoo TensorRT engine built by :func:`vggzoo_export.trt.build_engine`."""

    name = "tensorrt"

    def __init__(self, path: str | os.PathLike, *, device: str | int | torch.device = "cuda",
                 verify: bool | None = None) -> None:
        from vggzoo.weights.verify import verification_enabled

        trt = import_tensorrt()
        self.path = Path(path)
        self.sidecar: EngineSidecar = read_sidecar(self.path)
        self.device = torch.device(device)
        if self.device.type != "cuda":
            raise OptionError(f"the TensorRT backend runs on a CUDA device, not {self.device}")
        gpu = current_gpu(self.device.index)  # a clear error without CUDA
        index = self.device.index if self.device.index is not None else torch.cuda.current_device()
        check_environment(self.sidecar, self.path, tensorrt_version=trt.__version__, gpu=gpu)
        if verification_enabled(verify):  # on unless verify=False or VGGZOO_VERIFY=0
            verify_engine_file(self.sidecar, self.path)
        self._trt = trt
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        with torch.cuda.device(index):
            self.engine = self._runtime.deserialize_cuda_engine(self.path.read_bytes())
            if self.engine is None:
                raise EngineMismatchError(f"TensorRT could not load {self.path} (the log above "
                                          f"says why); rebuild it")
            self.stream = torch.cuda.Stream()
        self.device = torch.device("cuda", index)
        self._contexts: dict[int, Any] = {}
        self.input = self.sidecar.input
        self.output = logits_output(self.sidecar.outputs)
        meta = ExportMetadata.from_props(self.sidecar.onnx_metadata, source=str(self.path))
        meta.describe_runner(self)
        self.num_classes = int(self.output.shape[1])  # what the engine really outputs

    def _context(self, profile: int) -> Any:
        if profile not in self._contexts:
            context = self.engine.create_execution_context()
            if self.engine.num_optimization_profiles > 1:
                context.set_optimization_profile_async(profile, self.stream.cuda_stream)
            self._contexts[profile] = context
        return self._contexts[profile]

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        profile = select_profile(self.sidecar.profiles, tuple(batch.shape))
        max_batch = self.sidecar.profiles[profile].max_batch
        results = []
        with torch.cuda.device(self.device), torch.cuda.stream(self.stream):
            for piece in split_batch(batch, max_batch):
                results.append(self._run(profile, piece))
        self.stream.synchronize()
        return torch.cat(results).float().cpu()

    def _run(self, profile: int, batch: torch.Tensor) -> torch.Tensor:
        """Enqueue one engine run on ``self.stream``; returns the logits tensor."""
        context = self._context(profile)
        dtype = getattr(torch, self.input.dtype)
        x = batch.to(self.device, dtype=dtype, non_blocking=True).contiguous()
        if x.data_ptr() % ADDRESS_ALIGNMENT:
            x = x.clone()
        if not context.set_input_shape(self.input.name, tuple(x.shape)):
            raise VggzooError(f"TensorRT rejected input shape {tuple(x.shape)} for profile "
                              f"{profile}")
        context.set_tensor_address(self.input.name, x.data_ptr())
        outputs = {}
        for info in self.sidecar.outputs:
            shape = tuple(context.get_tensor_shape(info.name))
            outputs[info.name] = torch.empty(shape, dtype=getattr(torch, info.dtype),
                                             device=self.device)
            context.set_tensor_address(info.name, outputs[info.name].data_ptr())
        if not context.execute_async_v3(self.stream.cuda_stream):
            raise VggzooError(f"TensorRT failed to run {self.path} on shape {tuple(x.shape)}")
        return outputs[self.output.name]

    def close(self) -> None:
        self._contexts.clear()
        self.engine = None


def build_trt_runner(*, engine: str | os.PathLike | None = None,
                     device: str = "cuda") -> TrtRunner:
    """Factory for ``create_runner("tensorrt", engine=...)`` (``--engine PLAN``)."""
    if engine is None:
        raise OptionError("the tensorrt backend needs an engine: pass --engine PLAN (build one "
                          "with `vggzoo-export MODEL --trt -o PLAN`)")
    if device == "cpu":
        raise OptionError("the tensorrt backend runs on a CUDA GPU; use --device cuda")
    return TrtRunner(engine, device=device)
