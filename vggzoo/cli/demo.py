"""``vggzoo demo``: the main job on embedded defaults."""

from __future__ import annotations

import argparse

from ..sample_images import PHOTOS


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("demo", help="model facts and dense inference on a bundled photo")
    p.add_argument("--model", default="vgg16")
    p.add_argument("--photo", default="chelsea", choices=PHOTOS)
    p.add_argument("--scale", type=int, default=384, help="test scale Q (shortest side)")
    p.add_argument("--weights", default=None, help=".pth/.safetensors file or 'torchvision'")
    p.set_defaults(run=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    from ..demo import run

    run(args.model, photo=args.photo, scale=args.scale, weights=args.weights)
    return 0
