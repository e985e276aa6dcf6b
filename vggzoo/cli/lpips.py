"""``vggzoo lpips A B``: LPIPS distances of two images, two folders (matched
by relative path) or a CSV of pairs, on torch or an exported LPIPS file."""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "lpips", help="LPIPS distances of image pairs (two images, two folders, or a CSV)",
        description="LPIPS-VGG v0.1 distances, equal to the lpips package on the same weights. "
                    "A B: two images, or two folders whose images are matched by relative path; "
                    "A alone: a CSV of pairs (image_a,image_b, paths relative to the CSV). "
                    "Images of a pair must have one size; pairs are batched by size.")
    p.add_argument("a", metavar="A")
    p.add_argument("b", metavar="B", nargs="?")
    p.add_argument("--weights", metavar="W",
                   help="VGG16 trunk weights: a file or named weights (default vgg16.tv_in1k, "
                        "from the torch hub cache)")
    p.add_argument("--lin-weights", metavar="FILE",
                   help="LPIPS' learned layers (default: weights/v0.1/vgg.pth of the installed "
                        "lpips package)")
    p.add_argument("--onnx", metavar="FILE",
                   help="run an exported LPIPS file on ONNX Runtime instead of torch "
                        "(vggzoo-export vgg16 --format lpips-onnx or lpips-int8)")
    p.add_argument("--precision", choices=("fp32", "bf16"), default="fp32",
                   help="torch runtime: fp32 (exact; frozen, channels_last) or bf16 (autocast, "
                        "faster on CPUs with AMX/AVX512-BF16, |delta| about 1e-3)")
    p.add_argument("--batch-size", type=int, default=16, help="pairs per call")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", metavar="OUT", help="write the distances as JSON")
    out.add_argument("--csv", metavar="OUT", help="write one row per pair as CSV")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(run=run_lpips)


def _distance(args: argparse.Namespace):
    from ..errors import BackendUnavailableError, OptionError

    if args.onnx:
        if args.weights or args.lin_weights or args.precision != "fp32":
            raise OptionError("--onnx runs an exported file, which holds its weights and "
                              "precision: drop --weights/--lin-weights/--precision")
        try:
            from vggzoo_export.perceptual.runner import onnx_distance
        except ImportError as exc:
            raise BackendUnavailableError(f"--onnx needs vggzoo-export and onnxruntime "
                                          f"({exc}): pip install ./export") from exc
        return onnx_distance(args.onnx), "onnxruntime"
    from ..perceptual import LPIPS
    from ..perceptual.inference import lpips_distance

    metric = LPIPS(weights=args.weights, lin_weights=args.lin_weights, input_range="0-1")
    return lpips_distance(metric, args.precision), f"torch {args.precision}"


def run_lpips(args: argparse.Namespace) -> int:
    from ..io import atomic_path, check_writable
    from ..perceptual.pairs import lpips_pairs, pair_sizes, resolve_pairs
    from .output import ProgressBar, echo, print_table

    output = args.json or args.csv
    if output:
        check_writable(output, "--json" if args.json else "--csv")
    pairs = resolve_pairs(args.a, args.b)
    pair_sizes(pairs)  # a pair of two sizes fails before the weights are loaded
    distance, runtime = _distance(args)
    with ProgressBar("lpips", enabled=args.progress and sys.stderr.isatty(),
                     transient=True) as bar:
        results = lpips_pairs(pairs, distance, batch_size=args.batch_size, progress=bar)
    if output:
        with atomic_path(output) as tmp:
            tmp.write_text(_json(results) if args.json else _csv(results))
    print_table("LPIPS (VGG, v0.1)", ("A", "B", "size", "distance"),
                [(r.a, r.b, f"{r.width}x{r.height}", f"{r.distance:.6f}") for r in results])
    mean = sum(r.distance for r in results) / len(results)
    echo(f"{len(results)} pair(s) on {runtime}, mean distance {mean:.6f}")
    if output:
        echo(f"wrote {output}")
    return 0


def _json(results) -> str:
    return json.dumps({"metric": "lpips-vgg-0.1", "pairs": [r.as_dict() for r in results]},
                      indent=2) + "\n"


def _csv(results) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=("a", "b", "width", "height", "distance"))
    writer.writeheader()
    writer.writerows(r.as_dict() for r in results)
    return buffer.getvalue()
