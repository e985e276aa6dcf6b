"""``vggzoo-export MODEL --trt ...``: the arguments and the entry function.

The ``vggzoo-export`` command (exporter CLI) adds these arguments with
:func:`add_trt_arguments` and, after it has an fp32 ONNX file, calls
:func:`build_from_args`::

    vggzoo-export vgg16 --trt -o vgg16.plan --precision fp16 --scales 256,384,512 \\
        --max-batch 32 --workspace 4GiB --timing-cache trt.cache
"""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path

from vggzoo.errors import OptionError

from .availability import import_tensorrt
from .builder import DEFAULT_WORKSPACE, build_engine
from .precision import PRECISIONS
from .profiles import (DEFAULT_MAX_ASPECT, DEFAULT_MAX_BATCH, DEFAULT_SCALES, Profile,
                       derive_profiles, explicit_profile, profile_scales)
from .sidecar import EngineSidecar, write_sidecar


def add_argument_once(parser: argparse.ArgumentParser | argparse._ArgumentGroup, *flags: str,
                      **kwargs) -> None:
    """Add an option unless the parser already has it (``--max-batch`` is
    shared by ``--trt`` and ``--triton``)."""
    try:
        parser.add_argument(*flags, **kwargs)
    except argparse.ArgumentError:
        pass


def add_max_batch_argument(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    add_argument_once(parser, "--max-batch", type=int, default=DEFAULT_MAX_BATCH,
                      help=f"largest batch the engine / Triton model takes "
                           f"(default {DEFAULT_MAX_BATCH})")


def add_trt_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--trt`` options of ``vggzoo-export MODEL``."""
    group = parser.add_argument_group("TensorRT engine (--trt; needs an NVIDIA GPU and tensorrt)")
    group.add_argument("--trt", action="store_true",
                       help="build a TensorRT engine (-o names the .plan; a .plan.json sidecar "
                            "is written beside it)")
    add_argument_once(group, "--onnx", metavar="FILE",
                      help="build from this fp32 ONNX file instead of exporting one")
    group.add_argument("--precision", choices=PRECISIONS, default="fp32",
                       help="engine precision, written into the ONNX graph (default fp32)")
    add_argument_once(group, "--scales", default=None,
                       help=f"test scales Q the profiles cover, one profile each (default "
                            f"{','.join(map(str, DEFAULT_SCALES))})")
    add_max_batch_argument(group)
    group.add_argument("--max-aspect", type=float, default=DEFAULT_MAX_ASPECT,
                       help=f"longest / shortest image side the profiles cover, landscape and "
                            f"portrait (default {DEFAULT_MAX_ASPECT})")
    for name in ("min", "opt", "max"):
        group.add_argument(f"--{name}", dest=f"profile_{name}", metavar="NxCxHxW",
                           help="one explicit optimisation profile (give --min, --opt and "
                                "--max together, instead of --scales)")
    group.add_argument("--workspace", default=f"{DEFAULT_WORKSPACE >> 30}GiB",
                       help="builder workspace limit, e.g. 4GiB (default 4GiB)")
    group.add_argument("--timing-cache", metavar="FILE", default=None,
                       help="kernel timing cache reused across builds (default: one per "
                            "TensorRT version and GPU under ~/.cache/vggzoo/tensorrt)")


def profiles_from_args(args: argparse.Namespace) -> tuple[list[Profile], dict]:
    """The profiles the options ask for, and the options to record for a rebuild."""
    explicit = [getattr(args, f"profile_{n}", None) for n in ("min", "opt", "max")]
    if any(explicit):
        if not all(explicit):
            raise OptionError("give --min, --opt and --max together (one explicit profile), "
                              "or none of them and --scales")
        if getattr(args, "scales", None):
            raise OptionError("--scales and --min/--opt/--max both describe the profiles; "
                              "give one or the other")
        return [explicit_profile(*explicit)], {}
    scales = profile_scales(args.scales) if getattr(args, "scales", None) else DEFAULT_SCALES
    profiles = derive_profiles(scales, max_batch=args.max_batch, max_aspect=args.max_aspect)
    return profiles, {"scales": list(scales), "max_batch": args.max_batch,
                      "max_aspect": args.max_aspect}


def build_from_args(args: argparse.Namespace, onnx_path: str | os.PathLike,
                    engine_path: str | os.PathLike, *,
                    log: Callable[[str], None] = print) -> EngineSidecar:
    """``--trt``: check the options and TensorRT first (fail at once), build
    the engine, and for fp16/bf16 compare it with fp32 ONNX Runtime on the
    sample photos; the comparison is printed and stored in the sidecar."""
    profiles, recorded = profiles_from_args(args)
    import_tensorrt()
    sidecar = build_engine(onnx_path, engine_path, precision=args.precision, profiles=profiles,
                           workspace=args.workspace, timing_cache=args.timing_cache,
                           build_args=recorded, log=log)
    if args.precision != "fp32":
        from .check import check_engine

        report = check_engine(engine_path, onnx_path)
        log(f"{args.precision} engine vs fp32 ONNX Runtime: {report.summary()}")
        sidecar.check = report.as_dict()
        write_sidecar(Path(engine_path), sidecar)
    return sidecar
