"""Performance check of issue 6: VGG16 fully-convolutional at 224, batch 1,
fp32, on this machine's CPU.

Measures, side by side in one process and interleaved round by round (so
load from other users of a shared machine hits every runtime alike):

* PyTorch eager (the baseline),
* vggzoo's ``OrtRunner`` (target: >= 2.0x eager),
* a bare ``onnxruntime.InferenceSession`` on the same file with default
  options (target: OrtRunner within 5% of it).

Usage: ``python bench/onnx_vs_torch.py [--onnx vgg16.onnx] [--rounds 7]
[--calls 5] [--json out.json]``.  Without ``--onnx`` it exports VGG16 with
random weights to a temporary folder first (speed does not depend on weight
values).  Prints the lscpu model name and flags with the result.
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
from pathlib import Path

import onnxruntime as ort
import torch

import vggzoo
from vggzoo.cli.output import echo, print_table
from vggzoo_export.bench import cpu_info, time_calls
from vggzoo_export.core.metadata import torch_model
from vggzoo_export.onnx.export import export_onnx
from vggzoo_export.onnx.runner import OrtRunner, physical_cores


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--onnx", type=Path, help="existing vgg16.onnx (default: export one)")
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--calls", type=int, default=5, help="timed calls per runtime per round")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        path = args.onnx
        if path is None:
            path = Path(tmp) / "vgg16.onnx"
            echo("exporting VGG16 (random weights) ...")
            export_onnx(vggzoo.create("vgg16", fully_conv=True), path)
        runner = OrtRunner(path, "cpu")
        bare = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        eager = torch_model(runner.metadata)
        x = torch.randn(1, 3, args.size, args.size)
        x_np = x.numpy()
        runtimes = {
            "torch eager": eager,
            "vggzoo OrtRunner": runner.logits,
            "bare InferenceSession": lambda _: bare.run(None, {"input": x_np}),
        }
        times: dict[str, list[float]] = {name: [] for name in runtimes}
        with torch.inference_mode():
            for name, fn in runtimes.items():  # warm-up
                time_calls(fn, x, warmup=2, repeat=0)
            for round_ in range(args.rounds):
                for name, fn in runtimes.items():
                    times[name] += time_calls(fn, x, warmup=0, repeat=args.calls)
                echo(f"round {round_ + 1}/{args.rounds}: " + ", ".join(
                    f"{n} {statistics.median(t[-args.calls:]) * 1e3:.0f} ms" for n, t in times.items()))
    p50 = {name: statistics.median(t) for name, t in times.items()}
    base, ours, plain = p50["torch eager"], p50["vggzoo OrtRunner"], p50["bare InferenceSession"]
    print_table(f"VGG16 fully-conv, {args.size}x{args.size}, batch 1, fp32 "
                f"({args.rounds} rounds x {args.calls} calls)",
                ("runtime", "p50 ms", "min ms", "vs torch eager"),
                [(n, f"{p50[n] * 1e3:.1f}", f"{min(times[n]) * 1e3:.1f}", f"{base / p50[n]:.2f}x")
                 for n in runtimes])
    speedup, overhead = base / ours, ours / plain - 1
    echo(f"OrtRunner vs torch eager: {speedup:.2f}x (target >= 2.0x: "
         f"{'met' if speedup >= 2.0 else 'NOT met'})")
    echo(f"OrtRunner vs bare InferenceSession: {overhead * 100:+.1f}% (target within 5%: "
         f"{'met' if abs(overhead) <= 0.05 else 'NOT met'})")
    cpu = cpu_info()
    echo(f"threads: torch {torch.get_num_threads()}, OrtRunner {physical_cores()} intra-op; "
         f"torch {torch.__version__}, onnxruntime {ort.__version__}")
    echo(f"lscpu model name: {cpu['model_name']}")
    echo(f"lscpu flags: {cpu['flags']}")
    if args.json:
        args.json.write_text(json.dumps({"cpu": cpu, "p50_s": p50, "speedup": speedup,
                                         "overhead_vs_bare": overhead, "times_s": times}, indent=2))


if __name__ == "__main__":
    main()
