"""Latency and throughput of an exported file beside PyTorch eager.

Every runtime sees the same inputs in the same process, after warm-up, so
the "vs torch" ratio is measured side by side rather than across runs.
Rows report p50/p90 latency per batch, images/s (from p50) and achieved
GFLOP/s (2 x MACs counted by :mod:`vggzoo.models.complexity` at that input size).
The tables are printed by the CLI (:func:`vggzoo_export.cli.output.print_rows`).
"""

from __future__ import annotations

import copy
import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from vggzoo.models.complexity import count_macs
from vggzoo.io import atomic_path
from vggzoo.runtime.machine import cpu_info
from vggzoo.progress import Progress, as_progress
from vggzoo.runtime.base import Runner

from .errors import ArtifactError
from .core.metadata import ExportMetadata, torch_model

LogitsFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class Case:
    """One input to time: a label and a batch, or several batches timed as
    one call (``parts``: e.g. an image and its flip at three scales, the
    dense protocol per image) over ``images`` images."""

    label: str
    batch: torch.Tensor
    parts: Sequence[torch.Tensor] = ()
    images: int | None = None

    @property
    def inputs(self) -> list[torch.Tensor]:
        return list(self.parts) or [self.batch]

    @property
    def count(self) -> int:
        return self.images or self.batch.shape[0]


@dataclass
class BenchRow:
    runtime: str
    input: str
    batch: int
    p50_ms: float
    p90_ms: float
    images_per_s: float
    gflops: float
    vs_torch: float | None = None
    #: Compute precision of the runtime (fp32, int8, bf16).
    precision: str = "fp32"
    #: Speed relative to the fastest fp32 runtime of the same case.
    vs_best_fp32: float | None = None


#: Backends whose files run on the CPU beside PyTorch here.
BENCH_BACKENDS = ("onnxruntime", "aoti")


def open_runner(path: str | Path, providers: str = "auto") -> Runner:
    """The runner for an exported file: :func:`vggzoo.runtime.open_file`
    with the backend its suffix names (ONNX Runtime gets ``providers``)."""
    from vggzoo.runtime import backend_for_file, open_file

    backend = backend_for_file(path, BENCH_BACKENDS)
    return open_file(path, backend, **({"providers": providers}
                                       if backend == "onnxruntime" else {}))


def random_cases(sizes: Sequence[tuple[int, int]], batches: Sequence[int]) -> list[Case]:
    generator = torch.Generator().manual_seed(0)
    return [Case(f"{h}x{w}", torch.randn(n, 3, h, w, generator=generator))
            for h, w in sizes for n in batches]


def dense_case(scales: Sequence[int], aspect: float = 4 / 3) -> Case:
    """One image of the dense protocol: at each test scale Q an input of
    Q x Q*aspect and its horizontal flip (a batch of 2), timed together."""
    generator = torch.Generator().manual_seed(0)
    parts = [torch.randn(2, 3, q, round(q * aspect), generator=generator) for q in scales]
    return Case(f"dense {','.join(map(str, scales))} +flip", parts[0], parts, images=1)


def check_bench_memory(paths: Sequence[str | Path], sizes: Sequence[tuple[int, int]],
                       batches: Sequence[int], dense: Sequence[int] | None,
                       runtimes: int) -> None:
    """Refuse, before any input is allocated, benchmark sizes that would not
    fit in memory: every case's input (all are made up front) plus
    ``runtimes`` forward passes at the largest size and batch (each
    runtime's arena keeps its peak); see :mod:`vggzoo.runtime.memory`."""
    from vggzoo.runtime.memory import FLOAT_BYTES, forward_bytes, network_shape, require_fits

    shape = network_shape()
    onnx = [p for p in paths if Path(p).suffix == ".onnx" and Path(p).is_file()]
    if onnx:
        from .core.metadata import read_onnx_metadata

        shape = network_shape(read_onnx_metadata(onnx[0]))
    cases = [(h, w, n) for h, w in sizes for n in batches]
    cases += [(q, round(q * 4 / 3), 2) for q in dense or ()]
    h, w, n = max(cases, key=lambda c: c[0] * c[1] * c[2])

    def bytes_at(side: int) -> int:  # every case scaled like the largest
        f = side / min(h, w)
        held = sum(3 * max(1, round(a * f)) * max(1, round(b * f)) * k for a, b, k in cases)
        return (held * FLOAT_BYTES
                + runtimes * forward_bytes(shape, max(1, round(h * f)), max(1, round(w * f)),
                                           batch=n))

    require_fits(f"benchmarking at {h}x{w} (batch {n}, {runtimes} runtime(s))", bytes_at,
                 min(h, w), option="--sizes/--dense with a shortest side of")


def _percentile(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 \
        else values[0]


def time_calls(fn: LogitsFn, batch: torch.Tensor, *, warmup: int, repeat: int,
               tick: Callable[[], None] = lambda: None) -> list[float]:
    """Seconds per call after ``warmup`` untimed calls."""
    for _ in range(warmup):
        fn(batch)
        tick()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn(batch)
        times.append(time.perf_counter() - start)
        tick()
    return times


def run_benchmark(runtimes: dict[str, LogitsFn], cases: Sequence[Case], meta: ExportMetadata, *,
                  warmup: int = 2, repeat: int = 10, progress: Progress | bool | None = None,
                  precisions: dict[str, str] | None = None) -> list[BenchRow]:
    """Time every runtime on every case, interleaved per case so that load
    changes on a shared machine hit all runtimes alike.  ``precisions``
    names the compute precision of each runtime (default fp32).
    ``progress(calls done, calls, description=...)`` follows the warm-up and
    timed calls (:mod:`vggzoo.progress`)."""
    report = as_progress(progress)
    with torch.device("meta"):
        counter_model = torch_model(meta)
    rows: list[BenchRow] = []
    total = len(cases) * len(runtimes) * (warmup + repeat)
    done = 0

    def tick() -> None:
        nonlocal done
        done += 1
        report(done, total)

    report(done, total)
    for case in cases:
        n, inputs = case.count, case.inputs
        flops = sum(2 * count_macs(counter_model, tuple(x.shape[1:])) * x.shape[0]
                    for x in inputs)
        for name, fn in runtimes.items():
            report(done, total, description=f"{name} {case.label} batch {n}")
            call = fn if len(inputs) == 1 else (lambda _x, fn=fn: [fn(x) for x in inputs])
            with torch.inference_mode():
                times = time_calls(call, case.batch, warmup=warmup, repeat=repeat, tick=tick)
            p50 = statistics.median(times)
            rows.append(BenchRow(name, case.label, n, p50 * 1e3, _percentile(times, 90) * 1e3,
                                 n / p50, flops / p50 / 1e9,
                                 precision=(precisions or {}).get(name, "fp32")))
    _add_ratios(rows)
    return rows


def _add_ratios(rows: list[BenchRow]) -> None:
    baseline = {(r.input, r.batch): r.p50_ms for r in rows if r.runtime == "torch"}
    best_fp32: dict[tuple[str, int], float] = {}
    for row in rows:
        if row.precision == "fp32":
            key = (row.input, row.batch)
            best_fp32[key] = min(best_fp32.get(key, row.p50_ms), row.p50_ms)
    for row in rows:
        base = baseline.get((row.input, row.batch))
        row.vs_torch = base / row.p50_ms if base else None
        best = best_fp32.get((row.input, row.batch))
        row.vs_best_fp32 = best / row.p50_ms if best else None


#: ``--compare`` choices: PyTorch runtimes timed beside the files.
TORCH_COMPARISONS = ("torch", "torch-channels-last", "torch-bf16")
#: ``--backend`` choices: runtimes each ``.onnx`` file runs on.
FILE_BACKENDS = ("onnxruntime", "openvino", "openvino-bf16")


def torch_runtimes(meta: ExportMetadata, compare: Sequence[str],
                   notes: list[str]) -> dict[str, tuple[LogitsFn, str]]:
    """``{label: (logits function, precision)}`` for the ``--compare`` choices:
    plain eager (``torch``, the ratio baseline), the runner's fast default
    (channels_last) and bf16 autocast where the CPU has bf16."""
    from vggzoo.runtime.machine import has_native_bf16
    from vggzoo.runtime.torch_runner import TorchRunner

    unknown = set(compare) - set(TORCH_COMPARISONS)
    if unknown:
        raise ArtifactError(f"--compare takes {', '.join(TORCH_COMPARISONS)}, got "
                            f"{', '.join(sorted(unknown))}")
    model = torch_model(meta)
    # each runner gets its own copy: a runner sets its model's layout in place
    out: dict[str, tuple[LogitsFn, str]] = {}
    if "torch" in compare:
        out["torch"] = (TorchRunner(copy.deepcopy(model), plain_eager=True).logits, "fp32")
    if "torch-channels-last" in compare:
        out["torch channels_last"] = (TorchRunner(copy.deepcopy(model)).logits, "fp32")
    if "torch-bf16" in compare:
        if has_native_bf16():
            bf16 = TorchRunner(copy.deepcopy(model), precision="bf16")
            out["torch bf16 channels_last"] = (bf16.logits, "bf16")
        else:
            notes.append("torch bf16 left out: this CPU has no avx512_bf16/amx_bf16")
    return out


def benchmark_files(paths: Sequence[str | Path], cases: Sequence[Case], *,
                    compare: Sequence[str] = ("torch",), providers: str = "auto",
                    backends: Sequence[str] = ("onnxruntime",), warmup: int = 2,
                    repeat: int = 10, progress: Progress | bool | None = None,
                    notes: list[str] | None = None) -> list[BenchRow]:
    """Benchmark exported files of one model side by side and, with
    ``compare``, PyTorch on the same architecture (random weights: values do
    not change the speed of dense kernels).  ``backends`` adds OpenVINO
    (``openvino``, ``openvino-bf16``) for the ``.onnx`` files; runtimes the
    CPU cannot run fast (bf16 without native bf16) are left out with a
    line in ``notes``."""
    notes = [] if notes is None else notes
    unknown = set(backends) - set(FILE_BACKENDS)
    if unknown:
        raise ArtifactError(f"--backend takes {', '.join(FILE_BACKENDS)}, got "
                            f"{', '.join(sorted(unknown))}")
    from vggzoo.runtime import backend_for_file

    runners = [(path, backend, runner)
               for path in paths
               for backend in (backends if backend_for_file(path, BENCH_BACKENDS) == "onnxruntime"
                               else ("onnxruntime",))
               if (runner := _open(path, backend, providers, notes)) is not None]
    if not runners:
        raise ArtifactError("nothing to benchmark: every runtime was left out (" +
                            "; ".join(notes) + ")")
    meta: ExportMetadata = runners[0][2].metadata
    for path, _, runner in runners:
        if (runner.metadata.model, runner.metadata.facts.width_mult) != \
                (meta.model, meta.facts.width_mult):
            raise ArtifactError(f"{path} holds {runner.metadata.model}, not {meta.model}: "
                                f"benchmark one model per run")
    runtimes: dict[str, LogitsFn] = {}
    precisions: dict[str, str] = {}
    for label, (fn, precision) in torch_runtimes(meta, compare, notes).items():
        runtimes[label], precisions[label] = fn, precision
    for path, backend, runner in runners:
        precision = runner.metadata.config.get("precision", "fp32")
        if backend == "openvino-bf16" and precision == "fp32":
            precision = "bf16"
        label = runner.name
        if getattr(runner, "providers", None):
            label += f" ({runner.providers[0].removesuffix('ExecutionProvider')})"
        if precision != "fp32":
            label += f" {precision}"
        if label in runtimes:
            label += f" {Path(path).name}"
        runtimes[label], precisions[label] = runner.logits, precision
    try:
        return run_benchmark(runtimes, cases, meta, warmup=warmup, repeat=repeat,
                             progress=progress, precisions=precisions)
    finally:
        for _, _, runner in runners:
            runner.close()


def _open(path: str | Path, backend: str, providers: str, notes: list[str]) -> Runner | None:
    if backend == "onnxruntime":
        return open_runner(path, providers)
    from vggzoo.runtime.machine import has_native_bf16
    from vggzoo.plugins.registry import RUNNERS

    if "openvino" not in RUNNERS.names():
        raise ArtifactError("--backend openvino needs the OpenVINO plugin: "
                            "pip install ./plugins/vggzoo-openvino")
    if backend == "openvino-bf16" and not has_native_bf16():
        notes.append("OpenVINO bf16 left out: this CPU has no avx512_bf16/amx_bf16")
        return None
    if backend == "openvino-bf16":
        from .core.metadata import read_onnx_metadata

        if read_onnx_metadata(path).config.get("precision", "fp32") != "fp32":
            return None  # bf16 is a way to run an fp32 file; int8 files run as int8
    from vggzoo.runtime import open_file

    return open_file(path, "openvino", precision="bf16" if backend == "openvino-bf16" else "fp32")


def load_average() -> str:
    """The machine's load average: other work on a shared machine slows every
    runtime down, which ratios measured side by side partly cancel."""
    import os

    try:
        return ", ".join(f"{v:.2f}" for v in os.getloadavg())
    except OSError:
        return "unknown"


def write_json(rows: Sequence[BenchRow], path: str | Path, **context: object) -> None:
    """Rows plus machine facts, written atomically."""
    payload = {"cpu": cpu_info(), "torch": torch.__version__, "load_average": load_average(),
               **context,
               "rows": [asdict(r) for r in rows]}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2))
