"""The ``vggzoo-export`` command line.

``vggzoo-export MODEL [options]`` exports; ``vggzoo-export bench FILE``
benchmarks; ``vggzoo-export demo`` is ``make demo``'s export half.  User
errors (bad options, an output that cannot be written, a full disk) print as
one line without a traceback, exit code 2; ``--debug`` or ``VGGZOO_DEBUG=1``
shows the traceback (:mod:`vggzoo.cli.errors`, shared with ``vggzoo``).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vggzoo import io
from vggzoo.cli.errors import add_debug_argument, debug_enabled, run_command

from ..core.parity import parse_hw

SUBCOMMANDS = ("bench", "demo")


def _int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _scale_list(text: str) -> list[int]:
    from .steps import scale_list

    return scale_list(text)


def _size_list(text: str) -> list[tuple[int, int]]:
    try:
        return [parse_hw(v) for v in text.split(",") if v.strip()]
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _batch(text: str) -> int | None:
    if text == "dynamic":
        return None
    if text.isdigit() and int(text) >= 1:
        return int(text)
    raise argparse.ArgumentTypeError(f"--batch takes a positive integer or 'dynamic', got {text!r}")


def export_parser() -> argparse.ArgumentParser:
    from .. import __version__

    p = argparse.ArgumentParser(
        prog="vggzoo-export",
        description="Export a vggzoo model fully-convolutionally (any input >= 224, square or "
                    "not), check it against PyTorch, and write it atomically. "
                    "Other commands: `vggzoo-export bench FILE`, `vggzoo-export demo`.")
    p.add_argument("--version", action="version", version=f"vggzoo-export {__version__}")
    p.add_argument("model", nargs="?", default=None,
                   help="registered model name or paper letter (vgg16, D, ...); default: the "
                        "model the --weights record")
    p.add_argument("--weights", help=".pth/.safetensors file or 'torchvision' (default: random, "
                                     "with a warning)")
    p.add_argument("-o", "--output", type=Path, help="output file (default: MODEL.onnx / .pt2)")
    p.add_argument("--format", default="onnx", help="export format plugin (onnx, aoti, ...)")
    p.add_argument("--export-option", action="append", default=[], metavar="KEY=VALUE",
                   help="an option of the --format exporter (a plugin's too), checked against "
                        "its signature and converted by its type, e.g. fully_conv=false")
    p.add_argument("--opset", type=int, help="ONNX opset (default 18)")
    p.add_argument("--fp16", action="store_true", help="compute in fp16 (fp32 inputs/outputs)")
    p.add_argument("--batch", type=_batch, default=None, metavar="N|dynamic",
                   help="fixed batch size, or 'dynamic' (default)")
    p.add_argument("--exporter", choices=("torchscript", "dynamo"),
                   help="torch.onnx exporter (default torchscript; see docs)")
    p.add_argument("--sizes", type=_size_list, metavar="S,HxW,...",
                   help="aoti: input sizes to compile for (one package entry per size)")
    p.add_argument("--num-classes", type=int, default=None,
                   help="class count (default: what the weights record, else 1000)")
    p.add_argument("--width-mult", type=float, default=None,
                   help="width multiplier (default: what the weights record, else 1)")
    from .plan import add_step_arguments

    add_step_arguments(p)  # --int8, --protocol, --trt, --triton: the registered formats' own
    return p


def bench_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="vggzoo-export bench",
                                description="p50/p90 latency, images/s, GFLOP/s of an exported "
                                            "file, with the ratio to PyTorch eager in the same run")
    p.add_argument("files", type=Path, nargs="+", metavar="FILE",
                   help=".onnx or .pt2 files of one model made by vggzoo-export")
    p.add_argument("--sizes", type=_size_list, default=[(224, 224)], metavar="S,HxW,...")
    p.add_argument("--batch", type=_int_list, default=[1], metavar="N,...")
    p.add_argument("--dense", type=_scale_list, default=None, metavar="Q,Q,...",
                   help="also time the dense protocol per image: a 4:3 image and its flip at "
                        "each test scale Q (e.g. 256,384,512)")
    p.add_argument("--compare", action="append", default=[],
                   choices=("torch", "torch-channels-last", "torch-bf16"),
                   help="also time PyTorch on the same architecture: plain eager (the ratio "
                        "baseline), the runner's channels_last default, bf16 autocast (CPUs "
                        "with bf16 only); repeat for several")
    p.add_argument("--backend", action="append", default=[],
                   choices=("onnxruntime", "openvino", "openvino-bf16"),
                   help="runtimes each .onnx file runs on (default onnxruntime; openvino needs "
                        "plugins/vggzoo-openvino); repeat for several")
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
    p.add_argument("--scales", type=_scale_list, default=[224, 288, 352])
    p.add_argument("--output-dir", type=Path, default=Path("runs/export-demo"))
    p.add_argument("--repeat", type=int, default=2)
    return p


def run_export(args: argparse.Namespace) -> int:
    from .plan import plan_export

    run_steps(args, plan_export(args))
    return 0


def _checked(report: Any, step: Any) -> str:
    """The line that says how the written file was checked."""
    if report.agreement is not None:
        threshold = step.options.get("min_agreement")
        return (f"Checked against fp32: top-1 agreement {report.agreement.top1_agreement:.2%}"
                + (f" >= --min-agreement {threshold:.2%}." if threshold is not None else "."))
    if report.parity:
        return "Checked against PyTorch: parity passed."
    return "Not checked against PyTorch: this format reports no parity check."


def _table(report: Any, step: Any) -> tuple[str, list, str]:
    """The model step's table: files, parity, agreement, seconds, notes."""
    return (f"{report.metadata.model} exported as {step.format}", [
        ("file", ", ".join(str(f) for f in report.files)),
        *((("parity (max abs diff)", ", ".join(f"{k}: {v:.2g}" for k, v in report.parity.items())),)
          if report.parity else ()),
        *((("agreement with fp32", report.agreement.summary()),)
          if report.agreement is not None else ()),
        ("seconds", f"{report.seconds:.1f}"), *(("note", n) for n in report.notes)],
        _checked(report, step))


def run_steps(args: argparse.Namespace, steps: Sequence[Any]) -> None:
    """Run the planned exporters in order (each writes atomically) and
    print what each wrote and how it was checked."""
    import vggzoo
    from vggzoo.cli.output import echo, get_console, print_table
    from vggzoo.plugins.exporters import Exporter
    from vggzoo.plugins.registry import EXPORTERS

    from .plan import model_name

    status = get_console(stderr=True).status
    model = None
    if any(step.source is None for step in steps):
        model = vggzoo.create(model_name(args), weights=args.weights,
                              num_classes=args.num_classes, width_mult=args.width_mult)
        if args.weights is None:
            get_console(stderr=True).print(
                f"[bold red]WARNING[/]: no --weights given: exporting "
                f"{model.pretrained_cfg.name} with RANDOM weights (fine for benchmarks, "
                f"useless for predictions)", highlight=False)
    table: tuple[str, list, str] | None = None

    def flush() -> None:
        nonlocal table
        if table is not None:
            print_table(table[0], ("", ""), table[1])
            echo(table[2])
            table = None

    for step in steps:
        exporter: Exporter = EXPORTERS.get(step.format).obj
        if step.source is None:
            with status(f"exporting {model.pretrained_cfg.name} as {step.format} to "
                        f"{step.output}, then checking it ...") as shown:
                log = {"log": shown.update} if step.takes_log and "log" not in step.options else {}
                report = exporter(model, step.output, **step.options, **log)
            table = _table(report, step)
            continue
        flush()
        log = {"log": echo} if step.takes_log and "log" not in step.options else {}
        with status(f"{step.format}: writing {step.output} from {step.source} ..."):
            report = exporter(step.source, step.output, **step.options, **log)
        echo(step.summary(report, step.options))
    flush()


def run_bench(args: argparse.Namespace) -> int:
    from vggzoo.cli.output import ProgressBar, echo

    from ..bench import benchmark_files, check_bench_memory, dense_case, random_cases, write_json
    from .output import print_rows

    if args.json:
        io.check_writable(args.json, "--json")
    check_bench_memory(args.files, args.sizes, args.batch, args.dense,
                       runtimes=len(args.files) * len(args.backend or [1]) + len(args.compare))
    cases = random_cases(args.sizes, args.batch) + ([dense_case(args.dense)] if args.dense else [])
    notes: list[str] = []
    with ProgressBar("benchmarking", transient=True) as bar:
        rows = benchmark_files(args.files, cases, compare=args.compare, providers=args.providers,
                               backends=args.backend or ["onnxruntime"], warmup=args.warmup,
                               repeat=args.repeat, notes=notes, progress=bar)
    names = ", ".join(str(f) for f in args.files)
    print_rows(rows, f"{names} (warm-up {args.warmup}, {args.repeat} timed runs)")
    for note in notes:
        echo(note)
    if args.json:
        write_json(rows, args.json, files=[str(f) for f in args.files])
    return 0


def run_demo(args: argparse.Namespace) -> int:
    from .output import show_demo

    io.check_writable_dir(args.output_dir, "--output-dir")
    show_demo(args.model, weights=args.weights, scales=args.scales, output_dir=args.output_dir,
              repeat=args.repeat)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    from ..plugin import ensure_registered

    argv = list(sys.argv[1:] if argv is None else argv)
    ensure_registered()  # before the parser: the registered formats add their own flags
    command = argv[0] if argv and argv[0] in SUBCOMMANDS else "export"
    if command == "bench":
        parser, argv, run = bench_parser(), argv[1:], run_bench
    elif command == "demo":
        parser, argv, run = demo_parser(), argv[1:], run_demo
    else:
        parser, run = export_parser(), run_export
    add_debug_argument(parser)
    args = parser.parse_args(argv)

    def work() -> int:
        return run(args)

    return run_command(f"vggzoo-export {command}", work, debug=debug_enabled(args))


if __name__ == "__main__":
    sys.exit(main())
