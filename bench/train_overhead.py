"""Training images/s of vggzoo's loop against a plain hand-written PyTorch
loop: the same model, initial weights, data, transforms, batch and
DataLoader settings, measured side by side in one run.

    python bench/train_overhead.py [--width-mult 0.0625] [--batch 32] [--steps 40]

Prints the CPU model and flags (lscpu), each loop's images/s (median step
time after warm-up, best of ``--rounds`` alternating rounds) and the ratio
vggzoo / plain (target >= 0.95), best against best and the median of the
rounds' ratios (a shared machine's noise shows as their spread).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "examples"))

import vggzoo  # noqa: E402
from make_digits import make_digits  # noqa: E402
from vggzoo.data.folder import SkippingImageFolder, collate_skipping  # noqa: E402
from vggzoo.data.stats import IMAGENET_STATS  # noqa: E402
from vggzoo.data.transforms import PAPER_AUGMENTATIONS, train_transform  # noqa: E402
from vggzoo.data.scales import TrainScale  # noqa: E402
from vggzoo.plugins.registry import INITIALIZERS  # noqa: E402
from vggzoo.runtime.machine import cpu_info  # noqa: E402


def per_step_ips(times: list[float], batch: int, warmup: int) -> float:
    steps = [b - a for a, b in zip(times[warmup:], times[warmup + 1:])]
    return batch / statistics.median(steps)


def plain_loop(args, data: Path, device: torch.device) -> float:
    """What a user would write by hand around the same pieces."""
    torch.manual_seed(0)
    model = vggzoo.create("vgg11", num_classes=10, width_mult=args.width_mult)
    INITIALIZERS.get("glorot").obj(model)
    model.to(device)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
    transform = train_transform(PAPER_AUGMENTATIONS, scale=TrainScale.parse(args.scale), crop=224,
                                pca=IMAGENET_STATS.pca, preprocessing=IMAGENET_STATS.preprocessing)
    dataset = SkippingImageFolder(data / "train", transform)
    loader = DataLoader(dataset, batch_size=args.batch, shuffle=True, drop_last=True,
                        num_workers=args.workers, collate_fn=collate_skipping,
                        pin_memory=device.type == "cuda",
                        prefetch_factor=4 if args.workers else None)
    model.train()
    times = [time.perf_counter()]
    for step, (images, targets, _) in enumerate(loader):
        if step == args.steps:
            break
        images, targets = images.to(device, non_blocking=True), targets.to(device, non_blocking=True)
        loss = F.cross_entropy(model(images), targets)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter())
    return per_step_ips(times, args.batch, args.warmup)


def vggzoo_loop(args, data: Path, out: Path, device: torch.device) -> float:
    times = [time.perf_counter()]

    def record(trainer) -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter())

    vggzoo.train("vgg11", data, out, width_mult=args.width_mult, batch_size=args.batch,
                 scale=args.scale, init="glorot", lr=0.01, epochs=1, max_steps=args.steps,
                 workers=args.workers, device=device.type, channels_last=False, progress=False,
                 callbacks=[record])
    return per_step_ips(times, args.batch, args.warmup)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--width-mult", type=float, default=1 / 16)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--steps", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--scale", default="256")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    args = parser.parse_args()
    device = torch.device(args.device)
    cpu = cpu_info()
    print(f"lscpu model name: {cpu['model_name']} ({cpu['cpus']} CPUs)\nlscpu flags: {cpu['flags']}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, device {device}, "
          f"vgg11 width_mult {args.width_mult}, batch {args.batch}, {args.steps} steps "
          f"({args.warmup} warm-up), {args.workers} DataLoader worker(s), S {args.scale}")
    with tempfile.TemporaryDirectory() as tmp:
        data = make_digits(Path(tmp) / "digits")
        plain, ours = [], []
        for round_ in range(args.rounds):  # alternate, so load changes hit both
            plain.append(plain_loop(args, data, device))
            ours.append(vggzoo_loop(args, data, Path(tmp) / f"run{round_}", device))
            print(f"round {round_ + 1}: plain {plain[-1]:.1f} img/s, vggzoo {ours[-1]:.1f} img/s")
    best_plain, best_ours = max(plain), max(ours)
    print(f"| loop | images/s |\n|---|---|\n| plain PyTorch | {best_plain:.1f} |\n"
          f"| vggzoo Trainer | {best_ours:.1f} |")
    ratios = [o / p for o, p in zip(ours, plain)]
    print(f"ratio vggzoo / plain: {best_ours / best_plain:.3f} best vs best, "
          f"{statistics.median(ratios):.3f} median of rounds "
          f"({', '.join(f'{r:.2f}' for r in ratios)}) (target >= 0.95)")


if __name__ == "__main__":
    main()
