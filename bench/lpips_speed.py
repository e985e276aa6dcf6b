"""Issue 22: LPIPS pairs/s on the CPU, vggzoo vs the lpips package, same weights.

Paths, measured interleaved batch by batch in one process (other users' load
hits all alike), on the same pairs at SIDE x SIDE:

* ``lpips``: ``lpips.LPIPS(net="vgg")`` (its trunk given the same weights),
  no_grad, NCHW, [-1, 1] input - the reference;
* ``vggzoo exact``: :class:`vggzoo.perceptual.LPIPS`, channels_last, inference_mode;
* ``vggzoo bf16``: the same under ``torch.autocast("cpu", torch.bfloat16)``;
* ``vggzoo int8``: the ``lpips-int8`` export on ONNX Runtime (calibrated on
  other crops than the pairs measured).

Pairs are crops of scikit-image's photos against distorted copies (noise,
blur, JPEG) and other crops.  Agreement with the lpips package: max |Δ| and
Spearman over all pairs.  Then forward+backward images/s as a training loss
(``requires_grad`` input).  Weights: a random VGG16 trunk in torchvision's
format (speed does not depend on the values; agreement on a random trunk is
a harder test than on trained weights, whose activations are better scaled),
the learned layers from the lpips wheel.

Usage: ``python bench/lpips_speed.py [--pairs 500] [--timed-pairs 32] [--side 256] [--batch 4]``
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image, ImageFilter

import vggzoo
from vggzoo.data.samples import PHOTOS, load_photo
from vggzoo.perceptual import LPIPS, lpips_distance
from vggzoo.runtime.machine import cpu_info


def make_pairs(count: int, side: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 (count, 3, side, side) crops and their distorted partners."""
    rng = np.random.default_rng(seed)
    photos = [Image.fromarray(load_photo(p)) for p in PHOTOS]
    xs, ys = [], []
    for i in range(count):
        photo = photos[i % len(photos)]
        size = int(rng.integers(side, min(photo.size)))
        left = int(rng.integers(0, photo.size[0] - size + 1))
        top = int(rng.integers(0, photo.size[1] - size + 1))
        crop = photo.crop((left, top, left + size, top + size)).resize((side, side))
        kind, strength = i % 5, float(rng.uniform(0.2, 1.0))
        if kind == 0:
            noisy = np.asarray(crop, np.float32) + rng.normal(0, 40 * strength, (side, side, 3))
            other = Image.fromarray(noisy.clip(0, 255).astype(np.uint8))
        elif kind == 1:
            other = crop.filter(ImageFilter.GaussianBlur(4 * strength))
        elif kind == 2:
            buffer = io.BytesIO()
            crop.save(buffer, "JPEG", quality=int(5 + 40 * strength))
            other = Image.open(buffer).convert("RGB")
        elif kind == 3:  # the same scene shifted by 1-16 pixels
            dx, dy = (int(v) for v in rng.integers(-16, 17, 2) * strength)
            box = (max(0, left + dx), max(0, top + dy))
            box = (min(box[0], photo.size[0] - size), min(box[1], photo.size[1] - size))
            other = photo.crop((*box, box[0] + size, box[1] + size)).resize((side, side))
        else:
            other = photos[(i + 1) % len(photos)].resize((side, side))
        xs.append(torch.from_numpy(np.asarray(crop).copy()).permute(2, 0, 1))
        ys.append(torch.from_numpy(np.asarray(other).copy()).permute(2, 0, 1))
    return torch.stack(xs), torch.stack(ys)


def lpips_package(state: dict) -> torch.nn.Module:
    from vggzoo.perceptual.compat import lpips_reference

    return lpips_reference(state)


def int8_path(state: dict, side: int, workdir: Path):
    """Export lpips-int8 calibrated on other crops; its ORT distance function."""
    from vggzoo_export.perceptual.int8 import export_lpips_int8
    from vggzoo_export.perceptual.runner import onnx_distance

    cal = workdir / "cal"
    cal.mkdir()
    x, _ = make_pairs(8, side, seed=99)
    for i, image in enumerate(x):
        Image.fromarray(image.permute(1, 2, 0).numpy()).save(cal / f"{i}.png")
    model = vggzoo.create("vgg16", weights=state, num_classes=0)
    out = workdir / "lpips.int8.onnx"
    report = export_lpips_int8(model, out, calibrate=str(cal), side=side,
                               calibration_images=4, agreement_images=4, max_abs_diff=1.0,
                               min_spearman=-1.0)
    print(f"int8 export: {report.notes[0]} ({report.seconds:.0f} s)", flush=True)
    return onnx_distance(out, threads=torch.get_num_threads())


def build_paths(state: dict, side: int, workdir: Path) -> dict:
    reference = lpips_package(state)
    ours = LPIPS(weights=state, input_range="0-1").to(memory_format=torch.channels_last)
    cl = torch.channels_last

    def package(x, y):
        with torch.no_grad():
            return reference(x * 2 - 1, y * 2 - 1).flatten()

    def eager(x, y):
        with torch.inference_mode():
            return ours(x.contiguous(memory_format=cl), y.contiguous(memory_format=cl))

    return {"lpips": package, "vggzoo eager fp32": eager,
            "vggzoo exact": lpips_distance(ours, "fp32"),
            "vggzoo bf16": lpips_distance(ours, "bf16"),
            "vggzoo int8": int8_path(state, side, workdir)}


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def _batches(xs: torch.Tensor, ys: torch.Tensor, batch: int):
    for start in range(0, len(xs), batch):
        yield xs[start:start + batch].float() / 255, ys[start:start + batch].float() / 255


def measure_speed(paths: dict, xs: torch.Tensor, ys: torch.Tensor, batch: int) -> dict:
    """pairs/s of every path, interleaved batch by batch on the same pairs."""
    seconds = {k: 0.0 for k in paths}
    for run in paths.values():
        run(xs[:batch].float() / 255, ys[:batch].float() / 255)  # oneDNN, ORT, jit freeze
    for x, y in _batches(xs, ys, batch):
        for name, run in paths.items():
            begin = time.perf_counter()
            run(x, y)
            seconds[name] += time.perf_counter() - begin
    return {name: len(xs) / seconds[name] for name in paths}


def agreement(paths: dict, xs: torch.Tensor, ys: torch.Tensor, batch: int, timed: int) -> dict:
    """Distances of every path: the lpips package on the first ``timed`` pairs,
    the others on all (their reference is vggzoo exact, equal to lpips ~1e-8)."""
    values: dict[str, list[np.ndarray]] = {k: [] for k in paths}
    for i, (x, y) in enumerate(_batches(xs, ys, batch)):
        for name, run in paths.items():
            if name in ("lpips", "vggzoo eager fp32") and i * batch >= timed:
                continue
            values[name].append(run(x, y).detach().float().numpy())
    return {k: np.concatenate(v) for k, v in values.items()}


def report(rates: dict, values: dict) -> None:
    """Speed vs lpips; |Δ| vs lpips on the timed pairs; |Δ| and Spearman vs
    vggzoo exact (itself equal to lpips ~1e-8) over all pairs."""
    ref, exact = values["lpips"], values["vggzoo exact"]
    print("\n| path | pairs/s | vs lpips | max abs diff vs lpips (timed) | max abs diff vs exact "
          "(all) | Spearman vs exact (all) | pairs |")
    print("|---|---|---|---|---|---|---|")
    for name in rates:
        got = values[name]
        full = len(got) == len(exact)
        print(f"| {name} | {rates[name]:.2f} | {rates[name] / rates['lpips']:.2f}x | "
              f"{np.abs(got[:len(ref)] - ref).max():.2e} | "
              f"{np.abs(got - exact).max() if full else float('nan'):.2e} | "
              f"{spearman(got, exact) if full else float('nan'):.4f} | {len(got)} |", flush=True)
    print(f"distances: {exact.min():.3f} to {exact.max():.3f} over {len(exact)} pairs")


def measure_training(state: dict, side: int, batch: int, repeat: int) -> None:
    """forward+backward images/s of LPIPS as a loss, x requires grad."""
    reference = lpips_package(state)
    ours = LPIPS(weights=state, input_range="0-1").to(memory_format=torch.channels_last)
    g = torch.Generator().manual_seed(1)
    target = torch.rand(batch, 3, side, side, generator=g)

    def package(x):
        reference(x * 2 - 1, target * 2 - 1).sum().backward()

    def vggzoo_loss(x):
        ours(x, target.contiguous(memory_format=torch.channels_last)).sum().backward()

    runs = {"lpips": (package, torch.contiguous_format),
            "vggzoo exact": (vggzoo_loss, torch.channels_last)}
    seconds = {k: 0.0 for k in runs}
    for step in range(repeat + 1):
        for name, (run, fmt) in runs.items():
            x = torch.rand(batch, 3, side, side, generator=g).contiguous(memory_format=fmt)
            x.requires_grad_(True)
            begin = time.perf_counter()
            run(x)
            if step:  # step 0 warms up
                seconds[name] += time.perf_counter() - begin
            assert x.grad is not None and torch.isfinite(x.grad).all()
    base = batch * repeat / seconds["lpips"]
    print(f"\n| training loss (fwd+bwd, batch {batch}) | images/s | vs lpips |")
    print("|---|---|---|")
    for name in runs:
        rate = batch * repeat / seconds[name]
        print(f"| {name} | {rate:.2f} | {rate / base:.2f}x |", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=500, help="pairs for the agreement")
    parser.add_argument("--timed-pairs", type=int, default=32,
                        help="the first pairs, timed for every path side by side")
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--train-repeat", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    info = cpu_info()
    print(f"CPU: {info['model_name']} ({info['cpus']} CPUs), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; load average {os.getloadavg()}")
    print(f"lscpu flags: {info['flags']}")
    print(f"{args.pairs} pairs at {args.side}x{args.side} (timed: the first {args.timed_pairs}), "
          f"batch {args.batch}", flush=True)
    state = torchvision.models.vgg16(weights=None).state_dict()
    with tempfile.TemporaryDirectory() as tmp:
        paths = build_paths(state, args.side, Path(tmp))
        xs, ys = make_pairs(args.pairs, args.side, seed=0)
        timed = min(args.timed_pairs, args.pairs)
        rates = measure_speed(paths, xs[:timed], ys[:timed], args.batch)
        print(f"timed; load average {os.getloadavg()}", flush=True)
        report(rates, agreement(paths, xs[:timed], ys[:timed], args.batch, timed))
        if args.pairs > timed:
            report(rates, agreement(paths, xs, ys, args.batch, timed))
    if args.train_repeat > 0:
        measure_training(state, args.side, args.batch, args.train_repeat)
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
