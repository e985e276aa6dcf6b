"""``vggzoo-export MODEL --triton REPO ...``: the arguments, and their
translation into the ``triton`` exporter's options (:func:`triton_options`,
for :func:`vggzoo_export.triton.repository.export_triton`)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from vggzoo.errors import OptionError

from .trt import add_argument_once, add_max_batch_argument
from ..triton.repository import TRITON_BACKENDS
from ..triton.runtimes import DEFAULT_RUNTIME, RUNTIMES


def add_triton_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--triton`` options of ``vggzoo-export MODEL``."""
    group = parser.add_argument_group("Triton model repository (--triton)")
    group.add_argument("--triton", metavar="REPO",
                       help="write a Triton model repository REPO/NAME/{config.pbtxt,1/model.*}")
    add_argument_once(group, "--backend", dest="triton_backend", choices=TRITON_BACKENDS,
                      default="onnxruntime",
                      help="Triton backend: onnxruntime (model.onnx), tensorrt (model.plan "
                           "from --trt or --engine) or python (the dense protocol on the server: "
                           "uint8 images in, posteriors out; runs on the bundled tritonserver); "
                           "default onnxruntime")
    add_argument_once(group, "--engine", metavar="PLAN",
                      help="an engine built earlier (with its .json sidecar) for --backend tensorrt")
    group.add_argument("--triton-name", metavar="NAME",
                       help="model name in the repository (default: the model's name)")
    add_max_batch_argument(group)
    group.add_argument("--triton-multi-scale", action="store_true",
                       help="--backend python: three test scales from the training scale "
                            "(default: one; --scales gives them explicitly)")
    group.add_argument("--triton-max-side", type=int, default=None, metavar="PIXELS",
                       help="--backend python: largest image height/width a request may send "
                            "(default 2048)")
    group.add_argument("--triton-queue-delay-us", type=int, default=None, metavar="US",
                       help="--backend python: how long the dynamic batcher waits to fill a "
                            "batch (default 2000)")
    group.add_argument("--triton-runtime", choices=tuple(RUNTIMES), default=None,
                       help=f"--backend python: the runner the server runs the ONNX file on, "
                            f"fp32 or int8 (from --int8); default {DEFAULT_RUNTIME}")


def triton_options(args: argparse.Namespace, model_name: str | None = None) -> dict[str, Any]:
    """The ``triton`` exporter's options from the parsed arguments."""
    backend = getattr(args, "triton_backend", "onnxruntime")
    options = {"backend": backend, "name": args.triton_name or model_name,
               "max_batch": args.max_batch}
    python_only = {"scales": getattr(args, "scales", None),
                   "multi_scale": getattr(args, "triton_multi_scale", False) or None,
                   "max_side": getattr(args, "triton_max_side", None),
                   "queue_delay_us": getattr(args, "triton_queue_delay_us", None),
                   "runtime": getattr(args, "triton_runtime", None)}
    given = {k: v for k, v in python_only.items() if v is not None}
    if backend == "python":
        options.update(given)
    elif given.keys() - {"scales"}:
        flags = ", ".join("--triton-" + k.replace("_", "-")
                          for k in sorted(given.keys() - {"scales"}))
        raise OptionError(f"{flags} only apply to --backend python; drop them or add "
                          f"--backend python")
    return options


def triton_source(args: argparse.Namespace, *, onnx_path: str | os.PathLike | None = None,
                  engine_path: str | os.PathLike | None = None) -> Path:
    """The file the repository serves: the engine (``--trt``'s or
    ``--engine``) for ``--backend tensorrt``, else the ONNX file."""
    if getattr(args, "triton_backend", "onnxruntime") == "tensorrt":
        model_file = engine_path or getattr(args, "engine", None)
        if model_file is None:
            raise OptionError("--triton with --backend tensorrt needs an engine: add --trt to "
                              "build one, or --engine PLAN")
    else:
        model_file = onnx_path
        if model_file is None:
            raise OptionError("--triton with --backend onnxruntime needs the ONNX file")
    return Path(model_file)
