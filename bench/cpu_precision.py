"""Issue 14: the fastest VGG16 on this CPU, every precision side by side.

One run, one process, interleaved per case (load from other users of a
shared machine hits every runtime alike), full-size VGG16 with random
weights (weight values do not change the speed of dense kernels; int8 is
calibrated on crops of scikit-image's photos, so its activation ranges are
those of real images):

* torch eager (plain NCHW fp32, the baseline), torch channels_last (the
  runner's default), torch bf16 autocast + channels_last (CPUs with bf16);
* ONNX Runtime fp32 and int8 (``vggzoo-export --int8``);
* OpenVINO fp32, int8 (the same int8 file) and bf16 (CPUs with bf16);

at 224x224 batch 1, 384x384 batch 1, 224x224 batch 8 (throughput), and the
dense protocol per image (a 4:3 image and its flip at Q = 256, 384, 512).
Prints each row's ratio to torch eager and to the fastest fp32 runtime, the
issue's targets against what was measured, ``lscpu`` model and flags, and
the load average.

Usage: ``python bench/cpu_precision.py [--repeat 3] [--json out.json]``
(needs ./export and plugins/vggzoo-openvino installed; ``make`` does).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from PIL import Image

import vggzoo
from vggzoo.cli.output import ProgressBar, echo
from vggzoo.runtime.machine import has_native_bf16
from vggzoo.data.samples import PHOTOS, load_photo
from vggzoo_export.bench import (Case, benchmark_files, dense_case, load_average, random_cases,
                                 write_json)
from vggzoo_export.cli.output import print_rows
from vggzoo_export.onnx.int8 import export_int8, has_vnni
from vggzoo_export.onnx.export import export_onnx
from vggzoo_export.plugin import ensure_registered

#: The issue's targets: best vggzoo path vs the best fp32 peer (ONNX Runtime
#: or OpenVINO fp32), per CPU type; bf16 vs the best fp32 path.
TARGETS = {"vnni": {"224x224": 2.5, "dense": 2.5}, "avx2": {"224x224": 2.0, "dense": 1.8}}
BF16_TARGET = 1.6
PEERS = ("onnxruntime (CPU)", "openvino")


def photo_folder(root: Path, count: int = 12) -> Path:
    """``count`` 280x360 crops of scikit-image's bundled photos."""
    root.mkdir()
    photos = [load_photo(name) for name in PHOTOS]
    for i in range(count):
        photo = photos[i % len(photos)]
        top, left = (7 * i) % (photo.shape[0] - 279), (23 * i) % (photo.shape[1] - 359)
        Image.fromarray(photo[top:top + 280, left:left + 360]).save(root / f"{i:02d}.png")
    return root


def cases() -> list[Case]:
    return [*random_cases([(224, 224), (384, 384)], [1]), *random_cases([(224, 224)], [8]),
            dense_case([256, 384, 512])]


def report_targets(rows) -> None:
    kind = "vnni" if has_vnni() else "avx2"
    for case, batch, target_key in (("224x224", 1, "224x224"), ("dense 256,384,512 +flip", 1,
                                                                  "dense")):
        these = [r for r in rows if r.input == case and r.batch == batch]
        peer = min((r for r in these if r.runtime in PEERS), key=lambda r: r.p50_ms)
        best = min(these, key=lambda r: r.p50_ms)
        ratio = peer.p50_ms / best.p50_ms
        target = TARGETS[kind][target_key]
        echo(f"target ({kind.upper()} CPU, {case} batch {batch}): best path {best.runtime} "
             f"{best.p50_ms:.0f} ms vs best fp32 peer {peer.runtime} {peer.p50_ms:.0f} ms = "
             f"{ratio:.2f}x (target >= {target}x: {'met' if ratio >= target else 'NOT met'})")
        bf16 = [r for r in these if r.precision == "bf16"]
        if bf16:
            fastest = min(bf16, key=lambda r: r.p50_ms)
            fp32 = min((r for r in these if r.precision == "fp32"), key=lambda r: r.p50_ms)
            ratio = fp32.p50_ms / fastest.p50_ms
            echo(f"bf16 target ({case}): {fastest.runtime} {fastest.p50_ms:.0f} ms vs best fp32 "
                 f"{fp32.runtime} {fp32.p50_ms:.0f} ms = {ratio:.2f}x (target >= {BF16_TARGET}x: "
                 f"{'met' if ratio >= BF16_TARGET else 'NOT met'})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="timed calls per runtime and case")
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--calibration-images", type=int, default=4)
    parser.add_argument("--width-mult", type=float, default=1.0,
                        help="narrower VGG16 for a quick check of the script (timings: 1.0)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    ensure_registered()
    echo(f"load average before: {load_average()}")
    torch.manual_seed(0)
    model = vggzoo.create("vgg16", width_mult=args.width_mult)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        echo("exporting VGG16 (random weights) as fp32 and calibrated int8 ...")
        fp32 = export_onnx(model, tmp / "vgg16.onnx").path
        int8 = export_int8(model, tmp / "vgg16.int8.onnx",
                           calibrate=photo_folder(tmp / "photos"),
                           calibration_images=args.calibration_images, min_agreement=0.0)
        echo(f"int8: {int8.calibration['images']} calibration images, "
             f"{'7-bit' if int8.calibration['reduce_range'] else '8-bit'} weights; agreement "
             f"with fp32 on held-out photos: {int8.agreement.summary()}")
        notes: list[str] = []
        with ProgressBar("benchmarking", transient=True) as bar:
            rows = benchmark_files(
                [fp32, int8.path], cases(),
                compare=["torch", "torch-channels-last", "torch-bf16"], providers="cpu",
                backends=["onnxruntime", "openvino", "openvino-bf16"], warmup=args.warmup,
                repeat=args.repeat, notes=notes, progress=bar)
    print_rows(rows, f"VGG16, fp32/int8/bf16 on this CPU (warm-up {args.warmup}, "
                     f"{args.repeat} timed calls per row)")
    for note in notes:
        echo(note)
    echo(f"native bf16: {has_native_bf16()}; VNNI: {has_vnni()}; torch threads "
         f"{torch.get_num_threads()}")
    report_targets(rows)
    if args.json:
        write_json(rows, args.json, agreement=int8.agreement.as_dict())


if __name__ == "__main__":
    main()
