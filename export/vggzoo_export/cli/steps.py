"""The command-line side of vggzoo-export's chained formats: each object is
the :class:`vggzoo.plugins.exporters.StepArguments` a format registers as
its info ``arguments``, so ``vggzoo-export MODEL`` adds their flags and
places their steps by what they consume and produce without naming them
(:mod:`.main`).  A plugin's format does the same with its own object.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from vggzoo.errors import OptionError, VggzooError
from vggzoo.plugins.exporters import ExportReport

from ..core.contract import DEFAULT_TEST_SCALES
from .trt import add_argument_once


def scale_list(text: str) -> list[int]:
    """``--scales 256,384,512`` as a list of test scales."""
    from vggzoo.data.scales import parse_scales

    try:
        return parse_scales(text)
    except VggzooError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


class Step:
    """Defaults of :class:`~vggzoo.plugins.exporters.StepArguments`."""

    flag = ""
    flags: Mapping[str, str] = {}

    def check(self, args: argparse.Namespace) -> None:
        return None

    def consumes(self, args: argparse.Namespace, default: str) -> str:
        return default

    def given(self, args: argparse.Namespace) -> Path | None:
        return None

    def claims_output(self, args: argparse.Namespace) -> bool:
        return False

    def summary(self, report: ExportReport, options: Mapping[str, Any]) -> str:
        return f"{self.flag}: {', '.join(str(f) for f in report.files)}"


class ProtocolStep(Step):
    """``--protocol dense``: the ``protocol-dense`` graph beside the ONNX file."""

    flag = "--protocol"
    flags = {"scales": "--scales"}

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("--protocol", choices=("dense",),
                            help="also export the paper's whole test protocol as one graph")
        add_argument_once(parser, "--scales", type=scale_list, default=None,
                          help="test scales Q of --protocol, and of the --trt profiles "
                               "(default 256,384,512)")

    def requested(self, args: argparse.Namespace) -> bool:
        return args.protocol == "dense"

    def check(self, args: argparse.Namespace) -> None:
        if args.batch is not None:
            raise VggzooError("--protocol dense needs --format onnx and a dynamic batch (the flip "
                              "doubles the batch inside the graph); drop --batch / --format")

    def output(self, args: argparse.Namespace, model: str | None, source: Path | None) -> Path:
        return source.with_name(source.stem + ".dense" + source.suffix)

    def options(self, args: argparse.Namespace, model: str | None) -> dict[str, Any]:
        return {"scales": list(args.scales or DEFAULT_TEST_SCALES)}

    def summary(self, report: ExportReport, options: Mapping[str, Any]) -> str:
        return (f"protocol graph: {report.path} (scales {options['scales']}, parity "
                f"{max(report.parity.values()):.2g})")


class TrtStep(Step):
    """``--trt``: a TensorRT engine from the ONNX file (or ``--onnx FILE``)."""

    flag = "--trt"
    flags = {"precision": "--precision", "scales": "--scales", "max_batch": "--max-batch",
             "max_aspect": "--max-aspect", "min_shape": "--min", "opt_shape": "--opt",
             "max_shape": "--max", "workspace": "--workspace", "timing_cache": "--timing-cache"}

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from .trt import add_trt_arguments

        add_trt_arguments(parser)

    def requested(self, args: argparse.Namespace) -> bool:
        return bool(args.trt)

    def given(self, args: argparse.Namespace) -> Path | None:
        return Path(args.onnx) if args.onnx else None

    def claims_output(self, args: argparse.Namespace) -> bool:
        return True

    def output(self, args: argparse.Namespace, model: str | None, source: Path | None) -> Path:
        return Path(args.output or f"{model or source.stem}.plan")

    def options(self, args: argparse.Namespace, model: str | None) -> dict[str, Any]:
        from .trt import trt_options

        return trt_options(args)

    def summary(self, report: ExportReport, options: Mapping[str, Any]) -> str:
        return (f"TensorRT engine: {report.path} (+ {report.path.name}.json), precision "
                f"{options['precision']}")


class TritonStep(Step):
    """``--triton REPO``: a Triton repository serving the ONNX file or engine."""

    flag = "--triton"
    flags = {"backend": "--backend", "name": "--triton-name", "max_batch": "--max-batch"}

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from .triton import add_triton_arguments

        add_triton_arguments(parser)

    def requested(self, args: argparse.Namespace) -> bool:
        return args.triton is not None

    def check(self, args: argparse.Namespace) -> None:
        if self._engine(args) and not (args.trt or args.engine):
            raise OptionError("--triton with --backend tensorrt needs an engine: add --trt to "
                              "build one, or --engine PLAN")

    @staticmethod
    def _engine(args: argparse.Namespace) -> bool:
        return getattr(args, "triton_backend", "onnxruntime") == "tensorrt"

    def consumes(self, args: argparse.Namespace, default: str) -> str:
        return "tensorrt" if self._engine(args) else default

    def given(self, args: argparse.Namespace) -> Path | None:
        given = args.engine if self._engine(args) else args.onnx
        return Path(given) if given else None

    def output(self, args: argparse.Namespace, model: str | None, source: Path | None) -> Path:
        return Path(args.triton)

    def options(self, args: argparse.Namespace, model: str | None) -> dict[str, Any]:
        from .triton import triton_options

        return triton_options(args, model)

    def summary(self, report: ExportReport, options: Mapping[str, Any]) -> str:
        return f"Triton model repository: {report.path}"


class Int8Step(Step):
    """``--int8 --calibrate DIR``: the ``int8`` format, chosen by its flag
    instead of ``--format`` (it consumes the model)."""

    flag = "--int8"
    #: Its file is an ONNX network a Triton repository may serve, in the same
    #: command (``--int8 --calibrate DIR --triton REPO --backend python``).
    chains = {"onnx": ("--triton",)}
    flags = {"calibrate": "--calibrate", "calibration_images": "--calibration-images",
             "agreement_images": "--agreement-images", "min_agreement": "--min-agreement",
             "scales": "--calibration-scales", "opset": "--opset"}

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        from ..onnx.int8 import (DEFAULT_AGREEMENT_IMAGES, DEFAULT_CALIBRATION_IMAGES,
                                 DEFAULT_MIN_AGREEMENT)

        g = parser.add_argument_group("int8 (calibrated static quantization, CPU)")
        g.add_argument("--int8", action="store_true",
                       help="write a calibrated int8 (QDQ) network, checked against fp32 on "
                            "held-out images of --calibrate")
        g.add_argument("--calibrate", type=Path, metavar="DIR",
                       help="folder of images like the ones the model will see (searched "
                            "recursively); some calibrate, others check the agreement")
        g.add_argument("--calibration-images", type=int, default=DEFAULT_CALIBRATION_IMAGES,
                       metavar="N",
                       help=f"images to calibrate on (default {DEFAULT_CALIBRATION_IMAGES})")
        g.add_argument("--calibration-scales", type=scale_list, default=None, metavar="Q,...",
                       help="test scales to calibrate and check at (default: the weights' "
                            "recorded test scale, else 224)")
        g.add_argument("--agreement-images", type=int, default=DEFAULT_AGREEMENT_IMAGES,
                       metavar="M", help=f"held-out images to check on, at most (default "
                                         f"{DEFAULT_AGREEMENT_IMAGES})")
        g.add_argument("--min-agreement", type=float, default=DEFAULT_MIN_AGREEMENT, metavar="X",
                       help=f"top-1 agreement with fp32 (0-1) below which nothing is written "
                            f"(default {DEFAULT_MIN_AGREEMENT})")

    def requested(self, args: argparse.Namespace) -> bool:
        return bool(args.int8 or args.calibrate)

    def check(self, args: argparse.Namespace) -> None:
        if not (args.int8 and args.calibrate):
            raise VggzooError("int8 export needs both --int8 and --calibrate DIR (a folder of "
                              "images like the ones the model will see)")
        if args.fp16:
            raise VggzooError("--int8 writes an int8 network: drop --fp16")
        if args.weights is None:
            raise VggzooError("--int8 calibrates real weights: pass --weights W (random weights "
                              "give meaningless activation ranges)")

    def claims_output(self, args: argparse.Namespace) -> bool:
        return True

    def output(self, args: argparse.Namespace, model: str | None, source: Path | None) -> Path:
        return Path(args.output or f"{model}.int8.onnx")

    def options(self, args: argparse.Namespace, model: str | None) -> dict[str, Any]:
        return {"calibrate": args.calibrate, "calibration_images": args.calibration_images,
                "agreement_images": args.agreement_images, "min_agreement": args.min_agreement,
                "scales": args.calibration_scales,
                **({"opset": args.opset} if args.opset is not None else {})}


PROTOCOL, TENSORRT, TRITON, INT8 = ProtocolStep(), TrtStep(), TritonStep(), Int8Step()
