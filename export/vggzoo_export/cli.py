"""The ``vggzoo-export`` command line.

``vggzoo-export MODEL [options]`` exports; ``vggzoo-export bench FILE``
benchmarks; ``vggzoo-export demo`` is ``make demo``'s export half.  Errors
vggzoo raises on purpose print as one line without a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from vggzoo.errors import VggzooError

from .parity import parse_size

SUBCOMMANDS = ("bench", "demo")


def _int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _size_list(text: str) -> list[tuple[int, int]]:
    try:
        return [parse_size(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _batch(text: str) -> int | None:
    if text == "dynamic":
        return None
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise argparse.ArgumentTypeError(f"--batch takes a positive integer or 'dynamic', got {text!r}")


def export_parser() -> argparse.ArgumentParser:
    from . import __version__

    p = argparse.ArgumentParser(
        prog="vggzoo-export",
        description="Export a vggzoo model fully-convolutionally (any input >= 224, square or "
                    "not), check it against PyTorch, and write it atomically. "
                    "Other commands: `vggzoo-export bench FILE`, `vggzoo-export demo`.")
    p.add_argument("--version", action="version", version=f"vggzoo-export {__version__}")
    p.add_argument("model", help="registered model name or paper letter (vgg16, D, ...)")
    p.add_argument("--weights", help=".pth/.safetensors file or 'torchvision' (default: random, "
                                     "with a warning)")
    p.add_argument("-o", "--output", type=Path, help="output file (default: MODEL.onnx / .pt2)")
    p.add_argument("--format", default="onnx", help="export format plugin (onnx, aoti, ...)")
    p.add_argument("--opset", type=int, help="ONNX opset (default 18)")
    p.add_argument("--fp16", action="store_true", help="compute in fp16 (fp32 inputs/outputs)")
    p.add_argument("--batch", type=_batch, default=None, metavar="N|dynamic",
                   help="fixed batch size, or 'dynamic' (default)")
    p.add_argument("--exporter", choices=("torchscript", "dynamo"),
                   help="torch.onnx exporter (default torchscript; see docs)")
    p.add_argument("--sizes", type=_size_list, metavar="S,HxW,...",
                   help="aoti: input sizes to compile for (one package entry per size)")
    p.add_argument("--num-classes", type=int, default=1000)
    p.add_argument("--width-mult", type=float, default=1.0, help="width multiplier (tests)")
    p.add_argument("--protocol", choices=("dense",),
                   help="also export the paper's whole test protocol as one graph")
    p.add_argument("--scales", type=_int_list, default=[256, 384, 512],
                   help="test scales Q of --protocol (default 256,384,512)")
    return p


def bench_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vggzoo-export bench",
                                description="p50/p90 latency, images/s, GFLOP/s of an exported "
                                            "file, with the ratio to PyTorch eager in the same run")
    p.add_argument("files", type=Path, nargs="+", metavar="FILE",
                   help=".onnx or .pt2 files of one model made by vggzoo-export")
    p.add_argument("--sizes", type=_size_list, default=[(224, 224)], metavar="S,HxW,...")
    p.add_argument("--batch", type=_int_list, default=[1], metavar="N,...")
    p.add_argument("--compare", action="append", choices=("torch",), default=[],
                   help="also time PyTorch eager on the same architecture")
    p.add_argument("--providers", default="auto", help="auto, tensorrt, cuda or cpu")
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--repeat", type=int, default=10)
    p.add_argument("--json", type=Path, help="write the rows and machine facts here")
    return p


def demo_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vggzoo-export demo",
                                description="export VGG16 and benchmark ONNX Runtime against "
                                            "PyTorch on the photos bundled with scikit-image")
    p.add_argument("--model", default="vgg16")
    p.add_argument("--weights", help=".pth/.safetensors or 'torchvision' (default: torchvision's "
                                     "file if cached, else random with a warning)")
    p.add_argument("--scales", type=_int_list, default=[224, 288, 352])
    p.add_argument("--output-dir", type=Path, default=Path("runs/export-demo"))
    p.add_argument("--repeat", type=int, default=2)
    return p


def run_export(args: argparse.Namespace) -> int:
    import vggzoo
    from vggzoo.cli.output import echo, get_console, print_table
    from vggzoo.registry import EXPORTERS

    entry = EXPORTERS.get(args.format)
    if args.protocol and (args.format != "onnx" or args.batch is not None):
        raise VggzooError("--protocol dense needs --format onnx and a dynamic batch (the flip "
                          "doubles the batch inside the graph); drop --batch / --format")
    model = vggzoo.create(args.model, weights=args.weights, num_classes=args.num_classes,
                          width_mult=args.width_mult)
    if args.weights is None:
        get_console(stderr=True).print(
            f"[bold red]WARNING[/]: no --weights given: exporting {model.pretrained_cfg['name']} "
            f"with RANDOM weights (fine for benchmarks, useless for predictions)", highlight=False)
    output = args.output or Path(model.pretrained_cfg["name"] + entry.info.get("suffix", ""))
    options = {k: v for k, v in {"opset": args.opset, "batch": args.batch,
                                 "exporter": args.exporter, "sizes": args.sizes}.items()
               if v is not None}
    if args.fp16:
        options["fp16"] = True
    status = get_console(stderr=True).status
    try:
        with status(f"exporting {model.pretrained_cfg['name']} as {args.format} to {output}, "
                    f"then checking it against PyTorch ..."):
            report = entry.obj(model, output, **options)
    except TypeError as exc:
        if "unexpected keyword" not in str(exc):
            raise
        raise VggzooError(f"format {args.format!r} does not take that option ({exc}); "
                          f"drop it or use --format onnx") from None
    rows = [("file", ", ".join(str(f) for f in report.files)),
            ("parity (max abs diff)", ", ".join(f"{k}: {v:.2g}" for k, v in report.parity.items())),
            ("seconds", f"{report.seconds:.1f}"), *(("note", n) for n in report.notes)]
    if args.protocol == "dense":
        from .protocol_graph import export_protocol_graph

        with status(f"building the dense protocol graph (scales {args.scales}) ..."):
            graph = export_protocol_graph(report.path, protocol_path(report.path),
                                          scales=args.scales)
        rows.append(("protocol graph", f"{graph.path} (scales {args.scales}, parity "
                     f"{max(graph.parity.values()):.2g})"))
    print_table(f"{report.metadata.model} exported as {args.format}", ("", ""), rows)
    echo("Checked against PyTorch: parity passed.")
    return 0


def protocol_path(network: Path) -> Path:
    """``vgg16.onnx`` -> ``vgg16.dense.onnx``."""
    return network.with_name(network.stem + ".dense" + network.suffix)


def run_bench(args: argparse.Namespace) -> int:
    from .bench import benchmark_files, print_rows, random_cases, write_json

    rows = benchmark_files(args.files, random_cases(args.sizes, args.batch), compare=args.compare,
                           providers=args.providers, warmup=args.warmup, repeat=args.repeat)
    names = ", ".join(str(f) for f in args.files)
    print_rows(rows, f"{names} (warm-up {args.warmup}, {args.repeat} timed runs)")
    if args.json:
        write_json(rows, args.json, files=[str(f) for f in args.files])
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from .demo import run

    run(args.model, weights=args.weights, scales=args.scales, output_dir=args.output_dir,
        repeat=args.repeat)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from .plugin import ensure_registered

    argv = list(sys.argv[1:] if argv is None else argv)
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else "export"
    if command == "bench":
        args, run = bench_parser().parse_args(argv[1:]), run_bench
    elif command == "demo":
        args, run = demo_parser().parse_args(argv[1:]), run_demo
    else:
        args, run = export_parser().parse_args(argv), run_export
    try:
        ensure_registered()
        return run(args)
    except (VggzooError, FileNotFoundError, PermissionError) as exc:
        print(f"vggzoo-export {command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
