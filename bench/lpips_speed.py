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

Usage: ``python bench/lpips_speed.py [--pairs 500] [--side 256] [--batch 4]``
"""

from __future__ import annotations

import argparse
import io
import os
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torchvision
from PIL import Image, ImageFilter

import vggzoo
from vggzoo.data.samples import PHOTOS, load_photo
from vggzoo.perceptual import LPIPS
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
        kind, strength = i % 4, float(rng.uniform(0.2, 1.0))
        if kind == 0:
            noisy = np.asarray(crop, np.float32) + rng.normal(0, 40 * strength, (side, side, 3))
            other = Image.fromarray(noisy.clip(0, 255).astype(np.uint8))
        elif kind == 1:
            other = crop.filter(ImageFilter.GaussianBlur(4 * strength))
        elif kind == 2:
            buffer = io.BytesIO()
            crop.save(buffer, "JPEG", quality=int(5 + 40 * strength))
            other = Image.open(buffer).convert("RGB")
        else:
            other = photos[(i + 1) % len(photos)].resize((side, side))
        xs.append(torch.from_numpy(np.asarray(crop).copy()).permute(2, 0, 1))
        ys.append(torch.from_numpy(np.asarray(other).copy()).permute(2, 0, 1))
    return torch.stack(xs), torch.stack(ys)


def lpips_package(state: dict) -> torch.nn.Module:
    import lpips

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = lpips.LPIPS(net="vgg", pnet_rand=True, verbose=False)
    for s in range(1, 6):
        for name, module in getattr(model.net, f"slice{s}").named_children():
            if isinstance(module, torch.nn.Conv2d):
                module.weight.data.copy_(state[f"features.{name}.weight"])
                module.bias.data.copy_(state[f"features.{name}.bias"])
    return model.eval()


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

    def exact(x, y):
        with torch.inference_mode():
            return ours(x.contiguous(memory_format=cl), y.contiguous(memory_format=cl))

    def bf16(x, y):
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16):
            return ours(x.contiguous(memory_format=cl), y.contiguous(memory_format=cl)).float()

    return {"lpips": package, "vggzoo exact": exact, "vggzoo bf16": bf16,
            "vggzoo int8": int8_path(state, side, workdir)}


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def measure_inference(paths: dict, xs: torch.Tensor, ys: torch.Tensor, batch: int) -> None:
    seconds = {k: 0.0 for k in paths}
    values: dict[str, list[np.ndarray]] = {k: [] for k in paths}
    warm_x, warm_y = xs[:batch].float() / 255, ys[:batch].float() / 255
    for run in paths.values():
        run(warm_x, warm_y)  # oneDNN primitives, ORT arenas
    for start in range(0, len(xs), batch):
        x, y = xs[start:start + batch].float() / 255, ys[start:start + batch].float() / 255
        for name, run in paths.items():
            begin = time.perf_counter()
            out = run(x, y)
            seconds[name] += time.perf_counter() - begin
            values[name].append(out.detach().float().numpy())
    ref = np.concatenate(values["lpips"])
    base = len(xs) / seconds["lpips"]
    print(f"\n| path | pairs/s | vs lpips | max abs diff | Spearman |")
    print("|---|---|---|---|---|")
    for name in paths:
        got = np.concatenate(values[name])
        rate = len(xs) / seconds[name]
        print(f"| {name} | {rate:.2f} | {rate / base:.2f}x | {np.abs(got - ref).max():.2e} | "
              f"{spearman(got, ref):.4f} |", flush=True)
    print(f"distances: {ref.min():.3f} to {ref.max():.3f} over {len(ref)} pairs")


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
    parser.add_argument("--pairs", type=int, default=500)
    parser.add_argument("--side", type=int, default=256)
    parser.add_argument("--batch", type=int, default=4)
    parser.add_argument("--train-repeat", type=int, default=3)
    args = parser.parse_args()
    torch.manual_seed(0)
    info = cpu_info()
    print(f"CPU: {info['model_name']} ({info['cpus']} CPUs), torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads; load average {os.getloadavg()}")
    print(f"lscpu flags: {info['flags']}")
    print(f"{args.pairs} pairs at {args.side}x{args.side}, batch {args.batch}", flush=True)
    state = torchvision.models.vgg16(weights=None).state_dict()
    with tempfile.TemporaryDirectory() as tmp:
        paths = build_paths(state, args.side, Path(tmp))
        xs, ys = make_pairs(args.pairs, args.side, seed=0)
        measure_inference(paths, xs, ys, args.batch)
    measure_training(state, args.side, args.batch, args.train_repeat)
    print(f"load average at the end {os.getloadavg()}")


if __name__ == "__main__":
    main()
