"""``vggzoo demo``: the main job on embedded defaults."""

from __future__ import annotations

import argparse

from ..sample_images import PHOTOS


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
    from ..demo import run

    model = args.model
    if model is None:
        from ..weights import read_facts

        recorded = read_facts(args.weights).model if args.weights not in (None, "torchvision") \
            else None
        model = recorded or "vgg16"
    run(model, photo=args.photo, scale=args.scale, weights=args.weights)
    return 0
