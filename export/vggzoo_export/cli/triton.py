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


def add_triton_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``--triton`` options of ``vggzoo-export MODEL``."""
    group = parser.add_argument_group("Triton model repository (--triton)")
    group.add_argument("--triton", metavar="REPO",
                       help="write a Triton model repository REPO/NAME/{config.pbtxt,1/model.*}")
    add_argument_once(group, "--backend", dest="triton_backend", choices=TRITON_BACKENDS,
                      default="onnxruntime",
                      help="Triton backend: onnxruntime (model.onnx) or tensorrt (model.plan "
                           "from --trt or --engine); default onnxruntime")
    add_argument_once(group, "--engine", metavar="PLAN",
                      help="an engine built earlier (with its .json sidecar) for --backend tensorrt")
    group.add_argument("--triton-name", metavar="NAME",
                       help="model name in the repository (default: the model's name)")
    add_max_batch_argument(group)


def triton_options(args: argparse.Namespace, model_name: str | None = None) -> dict[str, Any]:
    """The ``triton`` exporter's options from the parsed arguments."""
    return {"backend": getattr(args, "triton_backend", "onnxruntime"),
            "name": args.triton_name or model_name, "max_batch": args.max_batch}


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
