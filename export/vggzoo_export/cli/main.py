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
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vggzoo import io
from vggzoo.cli.errors import add_debug_argument, debug_enabled, run_command
from vggzoo.errors import OptionError, VggzooError

from ..core.artifacts import check_writable
from ..core.contract import DEFAULT_TEST_SCALES
from ..core.parity import parse_hw

SUBCOMMANDS = ("bench", "demo")


def _int_list(text: str) -> list[int]:
    try:
        return [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def _scale_list(text: str) -> list[int]:
    from vggzoo.data.scales import parse_scales

    try:
        return parse_scales(text)
    except VggzooError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


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
    p.add_argument("--protocol", choices=("dense",),
                   help="also export the paper's whole test protocol as one graph")
    p.add_argument("--scales", type=_scale_list, default=None,
                   help="test scales Q of --protocol, and of the --trt profiles "
                        "(default 256,384,512)")
    add_int8_arguments(p)
    from .trt import add_trt_arguments
    from .triton import add_triton_arguments

    add_trt_arguments(p)
    add_triton_arguments(p)
    return p


def add_int8_arguments(p: argparse.ArgumentParser) -> None:
    from ..onnx.int8 import DEFAULT_AGREEMENT_IMAGES, DEFAULT_CALIBRATION_IMAGES, DEFAULT_MIN_AGREEMENT

    g = p.add_argument_group("int8 (calibrated static quantization, CPU)")
    g.add_argument("--int8", action="store_true",
                   help="write a calibrated int8 (QDQ) network, checked against fp32 on "
                        "held-out images of --calibrate")
    g.add_argument("--calibrate", type=Path, metavar="DIR",
                   help="folder of images like the ones the model will see (searched "
                        "recursively); some calibrate, others check the agreement")
    g.add_argument("--calibration-images", type=int, default=DEFAULT_CALIBRATION_IMAGES,
                   metavar="N", help=f"images to calibrate on (default {DEFAULT_CALIBRATION_IMAGES})")
    g.add_argument("--calibration-scales", type=_scale_list, default=None, metavar="Q,...",
                   help="test scales to calibrate and check at (default: the weights' recorded "
                        "test scale, else 224)")
    g.add_argument("--agreement-images", type=int, default=DEFAULT_AGREEMENT_IMAGES, metavar="M",
                   help=f"held-out images to check on, at most (default {DEFAULT_AGREEMENT_IMAGES})")
    g.add_argument("--min-agreement", type=float, default=DEFAULT_MIN_AGREEMENT, metavar="X",
                   help=f"top-1 agreement with fp32 (0-1) below which nothing is written "
                        f"(default {DEFAULT_MIN_AGREEMENT})")


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
    run_steps(args, plan_export(args))
    return 0


@dataclass
class Step:
    """One registered exporter of a ``vggzoo-export MODEL`` run."""

    format: str
    output: Path
    options: dict[str, Any]
    #: What it converts: ``None`` for the model, else a file an earlier step
    #: writes (or ``--onnx`` / ``--engine`` names).
    source: Path | None = None
    #: The command-line flag of each option, for error messages.
    flags: dict[str, str] = field(default_factory=dict)
    #: File name suggested when ``-o`` names a folder.
    default_name: str | None = None


#: Flags of the network exporters' options.
NETWORK_FLAGS = {"opset": "--opset", "batch": "--batch", "exporter": "--exporter",
                 "sizes": "--sizes", "fp16": "--fp16"}


def plan_export(args: argparse.Namespace) -> list[Step]:
    """The exporters this command line asks for, in order, with every
    option and output checked: nothing is built or written before all pass.

    ``--format F`` (default onnx) exports the model; ``--protocol dense``,
    ``--trt`` and ``--triton`` chain the ``protocol-dense``, ``tensorrt``
    and ``triton`` exporters on the ONNX file (``--onnx FILE`` instead of a
    fresh export for the last two)."""
    from vggzoo.cli.output import echo
    from vggzoo.plugins.options import check_options as typed_options
    from vggzoo.plugins.registry import EXPORTERS

    from ..core.exporter import check_options
    from .trt import trt_options
    from .triton import triton_options, triton_source

    if args.int8 or args.calibrate:
        return _checked_steps([_int8_step(args)])
    serving = bool(args.trt or args.triton)
    if serving and (args.format != "onnx" or args.protocol):
        raise VggzooError("--trt / --triton build from the fully-convolutional ONNX file: "
                          "drop --format and --protocol")
    if args.triton and args.triton_backend == "tensorrt" and not (args.trt or args.engine):
        raise VggzooError("--triton with --backend tensorrt needs an engine: add --trt to build "
                          "one, or --engine PLAN")
    entry = EXPORTERS.get(args.format)
    if entry.info.get("input", "model") != "model":
        raise OptionError(f"format {args.format!r} converts an exported file, not a model "
                          f"({entry.info.get('description', '')}): use its own flag, or "
                          f"--format onnx / aoti")
    if args.protocol and (args.format != "onnx" or args.batch is not None):
        raise VggzooError("--protocol dense needs --format onnx and a dynamic batch (the flip "
                          "doubles the batch inside the graph); drop --batch / --format")
    if args.num_classes == 0:
        from vggzoo.models.vgg import NO_CLASSES

        raise VggzooError(NO_CLASSES)
    steps: list[Step] = []
    if serving and args.onnx:
        network = Path(args.onnx)
        name = _onnx_model_name(network)
    else:
        name = vggzoo_name(model_name(args))
        default = name + entry.info.get("suffix", "")
        if serving:
            network = Path(name + ".onnx") if args.trt or args.output is None else args.output
        else:
            network = Path(args.output or default)
        options = {k: v for k, v in {"opset": args.opset, "batch": args.batch,
                                     "exporter": args.exporter, "sizes": args.sizes}.items()
                   if v is not None}
        if args.fp16:
            options["fp16"] = True
        extra = export_options(args.export_option)
        check_options(args.format, entry.obj, extra, flags=dict.fromkeys(extra, "--export-option"))
        options.update(typed_options(entry.obj, extra, positional=2,
                                     what=f"format {args.format!r}"))
        steps.append(Step(args.format, network, options,
                          flags={**NETWORK_FLAGS, **dict.fromkeys(extra, "--export-option")},
                          default_name=default))
    if args.protocol:
        steps.append(Step(f"protocol-{args.protocol}", protocol_path(network),
                          {"scales": list(args.scales or DEFAULT_TEST_SCALES)}, network,
                          {"scales": "--scales"}))
    engine = None
    if args.trt:
        engine = Path(args.output or name + ".plan")
        steps.append(Step("tensorrt", engine, {**trt_options(args), "log": echo}, network))
    if args.triton:
        steps.append(Step("triton", Path(args.triton), triton_options(args, name),
                          triton_source(args, onnx_path=network, engine_path=engine)))
    return _checked_steps(steps)


def _checked_steps(steps: list[Step]) -> list[Step]:
    """``steps`` after every option of every step, then every value and
    output, passed their checks: nothing is built before all pass."""
    from vggzoo.plugins.registry import EXPORTERS

    from ..core.exporter import check_options, check_values

    for step in steps:  # every option of every step, before any value check
        check_options(step.format, EXPORTERS.get(step.format).obj, step.options,
                      flags=step.flags)
    for step in steps:
        exporter = EXPORTERS.get(step.format)
        check_values(exporter.obj, step.output, step.options)
        if not exporter.info.get("folder"):
            check_writable(step.output, step.default_name)
    return steps


#: Flags of the int8 exporter's options.
INT8_FLAGS = {"calibrate": "--calibrate", "calibration_images": "--calibration-images",
              "agreement_images": "--agreement-images", "min_agreement": "--min-agreement",
              "scales": "--calibration-scales", "opset": "--opset"}


def _int8_step(args: argparse.Namespace) -> Step:
    """``--int8 --calibrate DIR``: the ``int8`` exporter, checked like every
    step (the calibrated network is written only when it agrees with fp32
    on held-out images, see :mod:`.int8`)."""
    if not (args.int8 and args.calibrate):
        raise VggzooError("int8 export needs both --int8 and --calibrate DIR (a folder of images "
                          "like the ones the model will see)")
    if (args.format != "onnx" or args.protocol or args.fp16 or args.trt or args.triton
            or args.export_option):
        raise VggzooError("--int8 writes one ONNX network: drop --format, --protocol, --fp16, "
                          "--trt, --triton and --export-option")
    if args.weights is None:
        raise VggzooError("--int8 calibrates real weights: pass --weights W (random weights "
                          "give meaningless activation ranges)")
    default = vggzoo_name(model_name(args)) + ".int8.onnx"
    options = {"calibrate": args.calibrate, "calibration_images": args.calibration_images,
               "agreement_images": args.agreement_images, "min_agreement": args.min_agreement,
               "scales": args.calibration_scales,
               **({"opset": args.opset} if args.opset is not None else {})}
    return Step("int8", Path(args.output or default), options, flags=INT8_FLAGS,
                default_name=default)


def export_options(items: Sequence[str]) -> dict[str, str]:
    """``--export-option KEY=VALUE`` strings as a dict (values still strings)."""
    options = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise OptionError(f"--export-option {item!r}: write KEY=VALUE, e.g. fully_conv=false")
        options[key.strip().replace("-", "_")] = value
    return options


def _checked(report: Any, step: Step) -> str:
    """The line that says how the written file was checked."""
    if report.agreement is not None:
        threshold = step.options.get("min_agreement")
        return (f"Checked against fp32: top-1 agreement {report.agreement.top1_agreement:.2%}"
                + (f" >= --min-agreement {threshold:.2%}." if threshold is not None else "."))
    if report.parity:
        return "Checked against PyTorch: parity passed."
    return "Not checked against PyTorch: this format reports no parity check."


def run_steps(args: argparse.Namespace, steps: Sequence[Step]) -> None:
    """Run the planned exporters in order (each writes atomically) and
    print what each wrote and how it was checked."""
    import vggzoo
    from vggzoo.cli.output import echo, get_console, print_table
    from vggzoo.plugins.registry import EXPORTERS

    from vggzoo.plugins.options import accepted_options

    from ..core.exporter import Exporter

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
        entry = EXPORTERS.get(step.format)
        exporter: Exporter = entry.obj
        if step.source is None:
            with status(f"exporting {model.pretrained_cfg.name} as {step.format} to "
                        f"{step.output}, then checking it ...") as shown:
                log = {"log": shown.update} if "log" in (accepted_options(exporter, positional=2)
                                                         or {}) else {}
                report = exporter(model, step.output, **step.options, **log)
            table = (f"{report.metadata.model} exported as {step.format}", [
                ("file", ", ".join(str(f) for f in report.files)),
                *((("parity (max abs diff)", ", ".join(f"{k}: {v:.2g}"
                                                       for k, v in report.parity.items())),)
                  if report.parity else ()),
                *((("agreement with fp32", report.agreement.summary()),)
                  if report.agreement is not None else ()),
                ("seconds", f"{report.seconds:.1f}"), *(("note", n) for n in report.notes)],
                _checked(report, step))
        elif step.format.startswith("protocol-"):
            scales = step.options["scales"]
            with status(f"building the dense protocol graph (scales {scales}) ..."):
                report = exporter(step.source, step.output, **step.options)
            row = (f"{report.path} (scales {scales}, parity "
                   f"{max(report.parity.values()):.2g})")
            if table is not None:
                table[1].append(("protocol graph", row))
            else:
                echo(f"protocol graph: {row}")
        else:
            flush()
            report = exporter(step.source, step.output, **step.options)
            if step.format == "tensorrt":
                echo(f"TensorRT engine: {report.path} (+ {report.path.name}.json), precision "
                     f"{step.options['precision']}")
            elif step.format == "triton":
                echo(f"Triton model repository: {report.path}")
            else:
                echo(f"{step.format}: {', '.join(str(f) for f in report.files)}")
    flush()


def model_name(args: argparse.Namespace) -> str:
    """MODEL, or the architecture the --weights record (a run directory,
    a vggzoo .safetensors file or named weights)."""
    if args.model is not None:
        return args.model
    if args.weights is not None:
        from vggzoo.weights.files import read_facts

        recorded = read_facts(args.weights).model
        if recorded:
            return recorded
    raise VggzooError("which model? pass MODEL (e.g. vgg16) or --weights that record it "
                      "(a training run directory, its model.safetensors, or vgg16.tv_in1k)")


def vggzoo_name(model: str) -> str:
    """The canonical registry name of a model name or alias (``D`` -> ``vgg16``)."""
    from vggzoo.plugins.registry import MODELS

    return MODELS.get(model).name


def _onnx_model_name(path: Path) -> str:
    from ..core.metadata import read_onnx_metadata

    return read_onnx_metadata(path).model


def protocol_path(network: Path) -> Path:
    """``vgg16.onnx`` -> ``vgg16.dense.onnx``."""
    return network.with_name(network.stem + ".dense" + network.suffix)


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
        ensure_registered()
        return run(args)

    return run_command(f"vggzoo-export {command}", work, debug=debug_enabled(args))


if __name__ == "__main__":
    sys.exit(main())
