"""Latency and throughput of an exported file beside PyTorch eager.

Every runtime sees the same inputs in the same process, after warm-up, so
the "vs torch" ratio is measured side by side rather than across runs.
Rows report p50/p90 latency per batch, images/s (from p50) and achieved
GFLOP/s (2 x MACs counted by :mod:`vggzoo.complexity` at that input size).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

import vggzoo
from vggzoo.complexity import count_macs
from vggzoo.io import atomic_path
from vggzoo.machine import cpu_info  # noqa: F401  (re-exported for bench scripts)
from vggzoo.runtime.base import Runner

from .errors import ArtifactError
from .metadata import ExportMetadata, torch_model

LogitsFn = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class Case:
    """One input to time: a label and a batch."""

    label: str
    batch: torch.Tensor


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


def open_runner(path: str | Path, providers: str = "auto") -> Runner:
    """The runner for an exported file, chosen by its suffix."""
    path = Path(path)
    if path.suffix == ".onnx":
        from .ort_runner import OrtRunner

        return OrtRunner(path, providers)
    if path.suffix == ".pt2":
        from .aoti import AotiRunner

        return AotiRunner(path)
    raise ArtifactError(f"cannot benchmark {path}: expected an .onnx or .pt2 file made by "
                        f"vggzoo-export")


def random_cases(sizes: Sequence[tuple[int, int]], batches: Sequence[int]) -> list[Case]:
    generator = torch.Generator().manual_seed(0)
    return [Case(f"{h}x{w}", torch.randn(n, 3, h, w, generator=generator))
            for h, w in sizes for n in batches]


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
                  warmup: int = 2, repeat: int = 10, progress: bool = True) -> list[BenchRow]:
    """Time every runtime on every case, interleaved per case so that load
    changes on a shared machine hit all runtimes alike."""
    from rich.progress import Progress

    from vggzoo.cli.output import get_console

    with torch.device("meta"):
        counter_model = torch_model(meta)
    rows: list[BenchRow] = []
    total = len(cases) * len(runtimes) * (warmup + repeat)
    with Progress(console=get_console(stderr=True), disable=not progress, transient=True) as bar:
        task = bar.add_task("benchmarking", total=total)
        for case in cases:
            n, _, h, w = case.batch.shape
            flops = 2 * count_macs(counter_model, (3, h, w)) * n
            for name, fn in runtimes.items():
                bar.update(task, description=f"{name} {case.label} batch {n}")
                with torch.inference_mode():
                    times = time_calls(fn, case.batch, warmup=warmup, repeat=repeat,
                                       tick=lambda: bar.advance(task))
                p50 = statistics.median(times)
                rows.append(BenchRow(name, case.label, n, p50 * 1e3, _percentile(times, 90) * 1e3,
                                     n / p50, flops / p50 / 1e9))
    _add_ratios(rows)
    return rows


def _add_ratios(rows: list[BenchRow]) -> None:
    baseline = {(r.input, r.batch): r.p50_ms for r in rows if r.runtime == "torch"}
    for row in rows:
        base = baseline.get((row.input, row.batch))
        row.vs_torch = base / row.p50_ms if base else None


def benchmark_files(paths: Sequence[str | Path], cases: Sequence[Case], *,
                    compare: Sequence[str] = ("torch",), providers: str = "auto",
                    warmup: int = 2, repeat: int = 10, progress: bool = True) -> list[BenchRow]:
    """Benchmark exported files of one model side by side and, with
    ``compare=("torch",)``, PyTorch eager on the same architecture (random
    weights: values do not change the speed of dense kernels)."""
    unknown = set(compare) - {"torch"}
    if unknown:
        raise ArtifactError(f"--compare takes 'torch', got {', '.join(sorted(unknown))}")
    runners = [open_runner(path, providers) for path in paths]
    meta: ExportMetadata = runners[0].metadata
    for path, runner in zip(paths, runners):
        if (runner.metadata.model, runner.metadata.config.get("width_mult")) != \
                (meta.model, meta.config.get("width_mult")):
            raise ArtifactError(f"{path} holds {runner.metadata.model}, not {meta.model}: "
                                f"benchmark one model per run")
    runtimes: dict[str, LogitsFn] = {}
    if "torch" in compare:
        runtimes["torch"] = torch_model(meta)
    for path, runner in zip(paths, runners):
        label = runner.name
        if getattr(runner, "providers", None):
            label += f" ({runner.providers[0].removesuffix('ExecutionProvider')})"
        if label in runtimes:
            label += f" {Path(path).name}"
        runtimes[label] = runner.logits
    try:
        return run_benchmark(runtimes, cases, meta, warmup=warmup, repeat=repeat,
                             progress=progress)
    finally:
        for runner in runners:
            runner.close()


def print_rows(rows: Sequence[BenchRow], title: str) -> None:
    from vggzoo.cli.output import echo, print_table

    print_table(title, ("runtime", "input", "batch", "p50 ms", "p90 ms", "images/s", "GFLOP/s",
                        "vs torch"),
                [(r.runtime, r.input, r.batch, f"{r.p50_ms:.1f}", f"{r.p90_ms:.1f}",
                  f"{r.images_per_s:.2f}", f"{r.gflops:.1f}",
                  f"{r.vs_torch:.2f}x" if r.vs_torch else "-") for r in rows])
    cpu = cpu_info()
    echo(f"CPU: {cpu['model_name']}; torch {torch.__version__} with {torch.get_num_threads()} "
         f"threads; vggzoo {vggzoo.__version__}")
    echo(f"CPU flags: {cpu['flags']}")


def write_json(rows: Sequence[BenchRow], path: str | Path, **context: object) -> None:
    """Rows plus machine facts, written atomically."""
    payload = {"cpu": cpu_info(), "torch": torch.__version__, **context,
               "rows": [asdict(r) for r in rows]}
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, indent=2))
