"""Issue 14: which memory layout the torch runner should use on this CPU.

VGG16 fp32 eager, full size, random weights; for each input shape, four
layouts measured interleaved in one process (load from other users hits all
alike): weights and input both NCHW, both channels_last, and each mixed
(``CL weights`` keeps the runner's channels_last weights and sends the
input as NCHW, which is what a per-batch layout choice costs nothing to do).
Prints median milliseconds, the ratio of each to plain NCHW (above 1 is
faster), ``lscpu`` flags and the load average.

Usage: ``python bench/torch_layout.py [--repeat 5]``
"""

from __future__ import annotations

import argparse
import copy
import os
import statistics
import time

import torch

import vggzoo
from vggzoo.runtime.machine import cpu_info

SHAPES = [(1, 224, 224), (1, 384, 384), (1, 256, 341), (2, 256, 341), (2, 384, 512),
          (8, 224, 224)]


def timed(model: torch.nn.Module, x: torch.Tensor) -> float:
    start = time.perf_counter()
    model(x)
    return (time.perf_counter() - start) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--model", default="vgg16")
    args = parser.parse_args()
    torch.manual_seed(0)
    nchw = vggzoo.create(args.model, fully_conv=True).eval()
    cl = copy.deepcopy(nchw).to(memory_format=torch.channels_last)
    layouts = {
        "NCHW": (nchw, torch.contiguous_format),
        "channels_last": (cl, torch.channels_last),
        "CL weights, NCHW input": (cl, torch.contiguous_format),
        "NCHW weights, CL input": (nchw, torch.channels_last),
    }
    info = cpu_info()
    print(f"CPU: {info['model_name']} ({info['cpus']} CPUs), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; load average {os.getloadavg()}")
    print(f"lscpu flags: {info['flags']}")
    print(f"| shape (N, H, W) | {' | '.join(f'{k} ms' for k in layouts)} | "
          f"{' | '.join(f'{k} vs NCHW' for k in list(layouts)[1:])} |")
    print("|---" * (2 * len(layouts)) + "|")
    with torch.inference_mode():
        for n, h, w in SHAPES:
            x = torch.randn(n, 3, h, w)
            times: dict[str, list[float]] = {k: [] for k in layouts}
            for model, fmt in layouts.values():  # warm-up: oneDNN primitive creation
                model(x.contiguous(memory_format=fmt))
            for _ in range(args.repeat):
                for name, (model, fmt) in layouts.items():
                    times[name].append(timed(model, x.contiguous(memory_format=fmt)))
            med = {k: statistics.median(v) for k, v in times.items()}
            base = med["NCHW"]
            print(f"| {n}, {h}, {w} | " + " | ".join(f"{v:.0f}" for v in med.values()) + " | "
                  + " | ".join(f"{base / med[k]:.2f}x" for k in list(layouts)[1:]) + " |",
                  flush=True)


if __name__ == "__main__":
    main()
