"""``vggzoo demo``: the main job on embedded defaults."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ..data.samples import PHOTOS

if TYPE_CHECKING:
    from ..demo import DenseResult


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("demo", help="model facts and dense inference on a bundled photo")
    p.add_argument("--model", default=None,
                   help="architecture (default: the one the --weights record, else vgg16)")
    p.add_argument("--photo", default="chelsea", choices=PHOTOS)
    p.add_argument("--scale", type=int, default=384, help="test scale Q (shortest side)")
    p.add_argument("--weights", default=None,
                   help=".pth/.safetensors file, run directory, named weights (vgg16.tv_in1k) "
                        "or 'torchvision'")
    p.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    model = args.model
    if model is None:
        from ..weights.files import read_facts

        recorded = read_facts(args.weights, model="vgg16").model if args.weights else None
        model = recorded or "vgg16"
    show_demo(model, photo=args.photo, scale=args.scale, weights=args.weights)
    return 0


def show_demo(model: str = "vgg16", photo: str = "chelsea", scale: int = 384,
              weights: str | None = None) -> DenseResult:
    """Print model info and the dense-inference result."""
    import torch

    from ..demo import dense_inference
    from ..models.factory import model_info
    from .output import echo, print_table

    info = model_info(model)
    print_table(f"{info.name} (paper config {info.config})", ("parameters", "GMACs at 224",
                "min input", "paper results"),
                [(f"{info.params:,}", f"{info.macs_224 / 1e9:.2f}", info.min_input_size,
                  "; ".join(f"T{r['table']} Q={r['test_scale']}: {r['top1_err']}/{r['top5_err']}"
                            for r in info.paper_results) or "-")])
    result = dense_inference(model, photo=photo, scale=scale, weights=weights)
    echo(f"Dense inference: photo '{photo}' {result.image_size[0]}x{result.image_size[1]} "
                  f"rescaled to {result.input_size[0]}x{result.input_size[1]} (Q={scale}), "
                  f"weights: {result.weights}")
    echo(f"score map shape: {tuple(result.score_map_shape)}  ({result.seconds:.2f} s on "
                  f"{torch.get_num_threads()} CPU threads)")
    print_table("top-5", ("rank", "class", "probability"),
                [(i + 1, name, f"{p:.4f}") for i, (name, p) in enumerate(result.top5)])
    return result

