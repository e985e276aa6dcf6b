"""vggzoo's ONNX files on OpenVINO, behind vggzoo's runner interface.

OpenVINO reads the ONNX file directly (no conversion step, no second
artifact): the fp32 network, or an int8 file from ``vggzoo-export --int8``,
whose ``QuantizeLinear``/``DequantizeLinear`` pairs OpenVINO's CPU plugin
turns into int8 convolutions.  The file's ``vggzoo.*`` metadata (model,
preprocessing, minimum size, classes) is read with the same reader ONNX
Runtime's runner uses, so every protocol runs unchanged:
``vggzoo eval --backend openvino --onnx vgg16.int8.onnx``.

Settings (``--runner-option KEY=VALUE``):

- ``hint=latency`` (default): one request, all cores on it — the right
  choice for one image at a time; ``hint=throughput``: OpenVINO's streams,
  the batch split into single images run as parallel requests.
- ``precision=fp32`` (default) or ``bf16`` (OpenVINO's inference precision
  hint; refused in one line on a CPU without AVX512_BF16 or AMX, where it
  would run slower than fp32).
- ``threads=N``: inference threads (default: OpenVINO's, one per physical core).

>>> with OpenVinoRunner("vgg16.onnx", hint="latency") as runner:
...     runner.posteriors(batch).shape
torch.Size([8, 1000])
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vggzoo.errors import BackendUnavailableError, OptionError, VggzooError
from vggzoo.runtime.machine import require_native_bf16
from vggzoo.runtime.base import Runner
from vggzoo_export.errors import ArtifactError
from vggzoo_export.core.metadata import read_onnx_metadata
from vggzoo_export.core.contract import INPUT_NAME

#: ``hint=`` values and OpenVINO's PERFORMANCE_HINT they select.
HINTS = {"latency": "LATENCY", "throughput": "THROUGHPUT"}
#: ``precision=`` values and OpenVINO's INFERENCE_PRECISION_HINT.
PRECISIONS = {"fp32": "f32", "bf16": "bf16"}


def import_openvino() -> Any:
    try:
        import openvino
    except ImportError as exc:
        raise BackendUnavailableError("the openvino backend needs OpenVINO: pip install openvino "
                                      "(or pip install ./plugins/vggzoo-openvino)") from exc
    return openvino


class OpenVinoRunner(Runner):
    """An exported vggzoo network compiled by OpenVINO."""

    name = "openvino"

    def __init__(self, path: str | os.PathLike, *, device: str = "CPU", hint: str = "latency",
                 precision: str = "fp32", threads: int | None = None) -> None:
        if hint not in HINTS:
            raise OptionError(f"unknown OpenVINO hint {hint!r}: choose {' or '.join(HINTS)}")
        if precision not in PRECISIONS:
            raise OptionError(f"unknown OpenVINO precision {precision!r}: choose "
                              f"{' or '.join(PRECISIONS)} (int8 comes from the file: export it "
                              f"with vggzoo-export --int8)")
        if precision == "bf16" and device.upper() == "CPU":
            require_native_bf16("--backend openvino with precision=bf16")
        ov = import_openvino()
        self.path = Path(path)
        if not self.path.is_file():
            raise ArtifactError(f"ONNX file {self.path} does not exist; export one with "
                                f"`vggzoo-export MODEL -o {self.path}`")
        self.metadata = read_onnx_metadata(self.path)
        if self.metadata.is_protocol_graph:
            raise ArtifactError(f"{self.path} is a whole-protocol graph; the openvino backend "
                                f"runs the network file (vggzoo-export without --protocol)")
        self.metadata.describe_runner(self)  # classes and training scale too, as every backend
        self.hint, self.precision = hint, precision
        config = {"PERFORMANCE_HINT": HINTS[hint], "INFERENCE_PRECISION_HINT": PRECISIONS[precision]}
        if threads is not None:
            config["INFERENCE_NUM_THREADS"] = int(threads)
        core = ov.Core()
        try:
            self.compiled = core.compile_model(core.read_model(str(self.path)), device.upper(),
                                               config)
        except RuntimeError as exc:
            raise ArtifactError(f"OpenVINO cannot load {self.path} on {device.upper()}: "
                                f"{str(exc).strip().splitlines()[0]}") from exc
        self._request = self.compiled.create_infer_request()
        self._queue = None
        if hint == "throughput":
            jobs = self.compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")
            self._queue = ov.AsyncInferQueue(self.compiled, int(jobs))

    def run(self, batch: torch.Tensor, output: str = "logits") -> torch.Tensor:
        """One output (``"logits"`` or ``"score_map"``) for a preprocessed batch."""
        self.metadata.check_batch(batch, str(self.path))
        x = np.ascontiguousarray(batch.detach().to("cpu", torch.float32).numpy())
        port = self.compiled.output(output)
        if self._queue is None or x.shape[0] == 1:
            result = self._request.infer({INPUT_NAME: x})[port]
            return torch.from_numpy(np.array(result, copy=True))
        parts: list[Any] = [None] * x.shape[0]

        def done(request: Any, index: int) -> None:
            parts[index] = np.array(request.get_tensor(port).data, copy=True)

        self._queue.set_callback(done)
        for i in range(x.shape[0]):
            self._queue.start_async({INPUT_NAME: x[i:i + 1]}, i)
        self._queue.wait_all()
        return torch.from_numpy(np.concatenate(parts))

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        return self.run(batch, "logits")

    def score_map(self, batch: torch.Tensor) -> torch.Tensor:
        """The (N, K, h, w) class score map."""
        return self.run(batch, "score_map")

    def close(self) -> None:
        self._queue = None
        self._request = None
        self.compiled = None


def build_openvino_runner(*, onnx: str | os.PathLike | None = None, device: str | None = None,
                          hint: str = "latency", precision: str = "fp32",
                          threads: int | None = None) -> OpenVinoRunner:
    """Factory for ``create_runner("openvino", onnx=PATH, ...)``: the file
    carries its own weights and metadata."""
    if onnx is None:
        raise VggzooError("the openvino backend needs an exported file: pass --onnx FILE (make "
                          "one with `vggzoo-export MODEL -o FILE`, or --int8 for int8)")
    device = str(device or "cpu")
    if device.startswith("cuda"):
        raise OptionError(f"the openvino backend runs on OpenVINO devices (cpu, gpu for Intel "
                          f"GPUs), not {device}; use --device cpu or --backend onnxruntime")
    return OpenVinoRunner(onnx, device=device, hint=hint, precision=precision,
                          threads=threads)
