"""The PyTorch runner: fast fp32 eager by default, plus an opt-in fast path.

With no options it is eager fp32 in the fastest exact settings measured:
channels_last layout on CPU and GPU (VGG16 at 224, batch 1: 1.67x plain
NCHW on an AVX2 EPYC, 1.12x on an AVX-512 EPYC, torch 2.14 with oneDNN; what
cuDNN's fastest kernels want), and at most one
intra-op thread per physical core (hyper-threads slow GEMM-bound
convolutions down).  Results equal plain eager to fp32 rounding.
``plain_eager=True`` (``vggzoo eval --plain-eager``) is the plain NCHW
path, for comparison or for a model whose layers dislike channels_last.

The opt-in fast path (each option independent, all off by default):

- ``precision="bf16"|"fp16"``: autocast; on recent GPUs the tensor cores run
  only reduced precision, so this is most of the speed-up.  bf16 on a CPU
  runs only where the CPU has it (AVX512_BF16 or AMX); elsewhere it is
  emulated, slower than fp32, and refused in one line.
- ``channels_last=True|False``: NHWC memory layout (default: on).
- ``compile="dynamic"``: ``torch.compile`` with dynamic height and width, so
  dense evaluation at many image sizes compiles once.
- ``cuda_graphs=True``: each input shape (one per test scale and batch size)
  is captured once as a CUDA graph and replayed, removing the per-layer
  launch overhead that dominates at small batches.
- ``batch_pixels=N``: "sized batches": a batch is run in pieces of at most
  ``N`` pixels (images x height x width), so a scale of 512 gets a quarter of
  the batch of 256 and memory stays bounded; with CUDA graphs the last piece
  is padded to the captured size.

>>> runner = TorchRunner(vggzoo.create("vgg16", weights="vgg16.pth"))
>>> runner.posteriors(batch).shape
torch.Size([8, 1000])
>>> fast = TorchRunner(model, device="cuda", precision="bf16", channels_last=True,
...                    cuda_graphs=True, batch_pixels=64 * 224 * 224)
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Literal

import torch
from torch import nn

from ..errors import BackendUnavailableError, OptionError
from ..models.factory import create, to_fully_conv
from ..plugins.hookspecs import Register, hookimpl
from .machine import physical_cores, require_native_bf16
from ..models.vgg import NO_CLASSES
from ..models.cfg import model_cfg
from .base import Runner

#: Autocast precisions of the fast path (``fp32`` = no autocast).
PRECISIONS: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16,
                                              "fp16": torch.float16}
COMPILE_MODES: tuple[str, ...] = ("none", "dynamic")
#: CUDA graphs kept at once (least recently used dropped first).
MAX_CUDA_GRAPHS = 16


class TorchRunner(Runner):
    """Runs a vggzoo model (converted to its fully-convolutional form).

    >>> runner = TorchRunner(vggzoo.create("vgg16", weights="vgg16.pth"))
    >>> runner.posteriors(batch).shape
    torch.Size([8, 1000])
    """

    name = "torch"

    def __init__(self, model: nn.Module, *, device: str | torch.device = "cpu",
                 precision: str = "fp32", channels_last: bool | None = None,
                 compile: str | None = None, cuda_graphs: bool = False,
                 batch_pixels: int | None = None, threads: int | None = None,
                 plain_eager: bool = False) -> None:
        if getattr(model_cfg(model), "num_classes", None) == 0:
            raise OptionError(NO_CLASSES)
        self.device = torch.device(device)
        self.precision, self.compile_mode = _check_options(
            self.device, precision, compile, cuda_graphs, batch_pixels)
        if plain_eager and channels_last:
            raise OptionError("plain_eager runs the NCHW layout: drop channels_last")
        self.channels_last = not plain_eager if channels_last is None else channels_last
        self.plain_eager = plain_eager
        self.threads = _thread_count(threads, plain_eager) if self.device.type == "cpu" else None
        self.batch_pixels = batch_pixels
        self.model = to_fully_conv(model).to(self.device).eval()
        # The runner takes the model over: it is moved and its weights change
        # layout in place (no copy of a 0.5 GB network); give each runner its own.
        self.model = self.model.to(memory_format=torch.channels_last if self.channels_last
                                   else torch.contiguous_format)
        self.carry(self.model.pretrained_cfg)
        forward: Callable[[torch.Tensor], torch.Tensor] = self.model
        if self.compile_mode == "dynamic":
            forward = torch.compile(self.model, dynamic=True)
        self._graphs = _CudaGraphs(forward) if cuda_graphs else None
        self._forward = self._graphs.run if self._graphs else forward

    def _autocast(self) -> contextlib.AbstractContextManager:
        dtype = PRECISIONS[self.precision]
        if dtype is None:
            return contextlib.nullcontext()
        # CUDA graphs replay kernels, not Python: autocast's weight cache
        # would be filled during capture only, so it stays off with graphs.
        return torch.autocast(self.device.type, dtype=dtype,
                              cache_enabled=self._graphs is None)

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        pieces = self._pieces(batch)
        # With CUDA graphs a short last piece is padded to the size of the
        # others, so one graph per scale serves the whole batch.
        pad_to = pieces[0].shape[0] if self._graphs is not None and len(pieces) > 1 else None
        with torch.inference_mode(), self._autocast(), _intra_op_threads(self.threads):
            return torch.cat([self._run_piece(p, pad_to) for p in pieces]).float().cpu()

    def _pieces(self, batch: torch.Tensor) -> list[torch.Tensor]:
        if self.batch_pixels is None:
            return [batch]
        size = max(1, self.batch_pixels // (batch.shape[-2] * batch.shape[-1]))
        return list(torch.split(batch, size))

    def _run_piece(self, piece: torch.Tensor, pad_to: int | None) -> torch.Tensor:
        x = piece.to(self.device, non_blocking=True)
        if self.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        count = x.shape[0]
        if pad_to is not None and count < pad_to:
            x = torch.cat([x, x.new_zeros((pad_to - count, *x.shape[1:]))])
        return self._forward(x)[:count]


def _thread_count(threads: int | None, plain_eager: bool) -> int | None:
    """torch intra-op threads for this runner's forward passes: ``threads``
    when given, else at most one per physical core (hyper-threads slow
    GEMM-bound convolutions); ``None`` leaves torch's choice."""
    if threads is not None:
        if int(threads) < 1:
            raise OptionError(f"threads must be a positive count, got {threads}")
        return int(threads)
    if not plain_eager and torch.get_num_threads() > physical_cores():
        return physical_cores()
    return None


@contextlib.contextmanager
def _intra_op_threads(count: int | None):
    """Run with ``count`` intra-op threads and restore the caller's setting:
    a runner must not change the thread count of the process that made it
    (training in the same process, other runners)."""
    before = torch.get_num_threads()
    if count is None or count == before:
        yield
        return
    torch.set_num_threads(count)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _check_options(device: torch.device, precision: str, compile: str | None,
                   cuda_graphs: bool, batch_pixels: int | None) -> tuple[str, str]:
    if precision not in PRECISIONS:
        raise OptionError(f"unknown precision {precision!r} for the torch runner: choose one of "
                          f"{', '.join(PRECISIONS)}")
    mode = "none" if compile is None else compile
    if mode not in COMPILE_MODES:
        raise OptionError(f"unknown compile mode {compile!r}: choose one of "
                          f"{', '.join(COMPILE_MODES)} (per-shape compilation is what "
                          f"cuda_graphs=True gives)")
    if batch_pixels is not None and (int(batch_pixels) != batch_pixels or batch_pixels < 1):
        raise OptionError(f"batch_pixels must be a positive number of pixels "
                          f"(images x height x width), got {batch_pixels}")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise BackendUnavailableError(f"device {device} was asked for but no CUDA GPU is "
                                      f"visible here; use device='cpu'")
    if precision == "bf16" and device.type == "cpu":
        require_native_bf16("torch runner precision=bf16 on the CPU")
    if cuda_graphs and device.type != "cuda":
        raise BackendUnavailableError(f"CUDA graphs need a CUDA device, not {device}: pass "
                                      f"device='cuda' on a GPU machine, or drop cuda_graphs")
    return precision, mode


class _CudaGraphs:
    """One captured CUDA graph per input shape, replayed on later calls.

    All graphs share one memory pool: they never run concurrently and each
    output is copied out right after its replay, so one graph's scratch
    memory may be another's.
    """

    def __init__(self, forward: Callable[[torch.Tensor], torch.Tensor],
                 max_graphs: int = MAX_CUDA_GRAPHS) -> None:
        self.forward = forward
        self.max_graphs = max_graphs
        self.graphs: OrderedDict[tuple, tuple[torch.Tensor, torch.cuda.CUDAGraph, torch.Tensor]] \
            = OrderedDict()
        self.pool: Any = None

    def run(self, x: torch.Tensor) -> torch.Tensor:
        key = (tuple(x.shape), x.dtype, x.is_contiguous(memory_format=torch.channels_last))
        if key not in self.graphs:
            self.graphs[key] = self._capture(x)
            while len(self.graphs) > self.max_graphs:
                self.graphs.popitem(last=False)
        self.graphs.move_to_end(key)
        static_in, graph, static_out = self.graphs[key]
        static_in.copy_(x)
        graph.replay()
        return static_out.clone()

    def _capture(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.cuda.CUDAGraph, torch.Tensor]:
        static_in = torch.empty_like(x).copy_(x)
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):  # warm-up: cuDNN algorithm choice, compilation
            for _ in range(2):
                self.forward(static_in)
        torch.cuda.current_stream().wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self.pool):
            static_out = self.forward(static_in)
        self.pool = graph.pool()
        return static_in, graph, static_out


def build_torch_runner(*, model: str | nn.Module, weights: Any = None,
                       width_mult: float | None = None, num_classes: int | None = None,
                       device: str = "cpu", precision: Literal["fp32", "bf16", "fp16"] = "fp32",
                       channels_last: bool | None = None, compile: str | None = None,
                       cuda_graphs: bool = False, batch_pixels: int | None = None,
                       threads: int | None = None, plain_eager: bool = False) -> TorchRunner:
    """Factory for ``create_runner("torch", ...)``: a model name (with
    weights, width and class count) or a model instance, and the fast-path
    options."""
    if isinstance(model, str):
        model = create(model, fully_conv=True, weights=weights, width_mult=width_mult,
                       num_classes=num_classes)
    elif weights is not None or width_mult is not None or num_classes is not None:
        raise OptionError("weights, width_mult and num_classes describe a model by name; "
                          "a model instance already has its own")
    return TorchRunner(model, device=device, precision=precision, channels_last=channels_last,
                       compile=compile, cuda_graphs=cuda_graphs, batch_pixels=batch_pixels,
                       threads=threads, plain_eager=plain_eager)


@hookimpl
def vggzoo_register_runners(register: Register) -> None:
    register("torch", build_torch_runner, description="PyTorch eager on CPU or GPU, "
             "channels_last by default (fast path: bf16/fp16 autocast, torch.compile, CUDA graphs)")
