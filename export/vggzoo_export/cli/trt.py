"""``vggzoo-export MODEL --trt ...``: the arguments, and their translation
into the ``tensorrt`` exporter's options (:func:`trt_options`).

The ``vggzoo-export`` command adds these arguments with
:func:`add_trt_arguments` and hands :func:`trt_options` to the registered
``tensorrt`` exporter (:func:`vggzoo_export.trt.export.export_tensorrt`)::

    vggzoo-export vgg16 --trt -o vgg16.plan --precision fp16 --scales 256,384,512 \\
        --max-batch 32 --workspace 4GiB --timing-cache trt.cache
"""

from __future__ import annotations

import argparse
from typing import Any

from ..trt.builder import DEFAULT_WORKSPACE
from ..trt.precision import PRECISIONS
from ..trt.profiles import DEFAULT_MAX_ASPECT, DEFAULT_MAX_BATCH


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
                       help="test scales Q the profiles cover, one profile each (default: "
                            "the multi-scale test scales of the model's training scale, as "
                            "`vggzoo eval --multi-scale` picks them)")
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


def trt_options(args: argparse.Namespace) -> dict[str, Any]:
    """The ``tensorrt`` exporter's options (:func:`.export.export_tensorrt`)
    from the parsed ``--trt`` arguments."""
    return {"precision": args.precision, "scales": getattr(args, "scales", None),
            "max_batch": args.max_batch, "max_aspect": args.max_aspect,
            "min_shape": getattr(args, "profile_min", None),
            "opt_shape": getattr(args, "profile_opt", None),
            "max_shape": getattr(args, "profile_max", None),
            "workspace": args.workspace, "timing_cache": args.timing_cache}
