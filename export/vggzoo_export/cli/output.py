"""The export CLI's screen: benchmark tables and ``vggzoo-export demo``.

Library modules (:mod:`.bench`, :mod:`.demo`) measure and return rows;
this module, like :mod:`vggzoo.cli.output`, is where they meet the terminal.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch

import vggzoo
from vggzoo.cli.output import ProgressBar, echo, get_console, print_table
from vggzoo.demo import cached_torchvision_weights
from vggzoo.runtime.machine import cpu_info
from vggzoo.data.samples import PHOTOS

from ..bench import BenchRow, benchmark_files, load_average, write_json
from ..demo import photo_cases
from ..onnx.export import export_onnx


def print_rows(rows: Sequence[BenchRow], title: str) -> None:
    """The benchmark table, then the machine it ran on (CPU, flags, load)."""
    print_table(title, ("runtime", "input", "batch", "p50 ms", "p90 ms", "images/s", "GFLOP/s",
                        "vs torch", "vs best fp32"),
                [(r.runtime, r.input, r.batch, f"{r.p50_ms:.1f}", f"{r.p90_ms:.1f}",
                  f"{r.images_per_s:.2f}", f"{r.gflops:.1f}",
                  f"{r.vs_torch:.2f}x" if r.vs_torch else "-",
                  f"{r.vs_best_fp32:.2f}x" if r.vs_best_fp32 else "-") for r in rows])
    cpu = cpu_info()
    echo(f"CPU: {cpu['model_name']}; torch {torch.__version__} with {torch.get_num_threads()} "
         f"threads; vggzoo {vggzoo.__version__}")
    echo(f"CPU flags: {cpu['flags']}")
    echo(f"load average (1, 5, 15 min) after the run: {load_average()}")


def show_demo(model: str = "vgg16", *, weights: str | None = None,
              scales: Sequence[int] = (224, 288, 352),
              output_dir: str | Path = "runs/export-demo", repeat: int = 2) -> Path:
    """Export, benchmark, print the table; returns the exported file."""
    if weights is None:
        cached = cached_torchvision_weights(model)
        weights = str(cached) if cached else None
    if weights is None:
        get_console(stderr=True).print(
            f"[bold red]WARNING[/]: no weights given and no torchvision {model} weights cached: "
            f"exporting RANDOM weights. Timings are valid; predictions are not. Pass --weights "
            f"FILE for a real model.", highlight=False)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    net = vggzoo.create(model, fully_conv=True, weights=weights)
    echo(f"Exporting {model} fully-convolutionally to {output_dir / (model + '.onnx')} ...")
    report = export_onnx(net, output_dir / f"{model}.onnx")
    del net
    echo(f"  done in {report.seconds:.1f} s; ONNX Runtime matches PyTorch at "
         + ", ".join(f"{size} (max abs diff {diff:.1g})" for size, diff in report.parity.items()))
    cases = photo_cases(report.metadata.preprocessing, scales)
    with ProgressBar("benchmarking", transient=True) as bar:
        rows = benchmark_files([report.path], cases, compare=("torch",), warmup=1, repeat=repeat,
                               progress=bar)
    print_rows(rows, f"{model}: ONNX Runtime vs PyTorch eager, batch of the {len(PHOTOS)} "
                     f"scikit-image photos ({', '.join(PHOTOS)}), warm-up 1, {repeat} timed runs")
    write_json(rows, output_dir / "bench.json", file=str(report.path), photos=list(PHOTOS))
    echo(f"Rows written to {output_dir / 'bench.json'}")
    return report.path
