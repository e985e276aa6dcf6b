"""``vggzoo eval``: the paper's test protocols on a folder of labelled images."""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import VggzooError
from ..io import check_writable
from .backend import add_backend_arguments, file_options, resolve_backend


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "eval", help="top-1/top-5 error with the paper's test protocols",
        description="Evaluate weights on DIR (ImageFolder: DIR/val/<class>/* or DIR/<class>/*) "
                    "with the paper's protocols; prints a Markdown table like Tables 3-6.")
    p.add_argument("--model", default=None,
                   help="architecture (default: the 'model' metadata of the weights)")
    p.add_argument("--weights", nargs="+", default=[None], metavar="W",
                   help=".safetensors/.pth file(s), run directories, named weights "
                        "(vgg16.tv_in1k) or 'torchvision'; several give one row each")
    p.add_argument("--data", required=True, metavar="DIR")
    p.add_argument("--protocol", default="dense",
                   help="single, dense, multicrop, dense+multicrop, or a plugin's; "
                        "comma-separated for several in one pass (default: dense)")
    p.add_argument("--scales", default=None, metavar="Q,Q,...",
                   help="test scales (default: derived from the training scale)")
    p.add_argument("--multi-scale", action="store_true",
                   help="derive three test scales from the training scale (the paper's rule)")
    p.add_argument("--train-scale", default=None, metavar="S|SMIN:SMAX",
                   help="training scale when the weights do not record it")
    p.add_argument("--no-flip", dest="flip", action="store_false",
                   help="do not average with horizontally flipped inputs")
    p.add_argument("--combination-weights", default=None, metavar="WD,WM",
                   help="weights of dense and multicrop in dense+multicrop (default equal)")
    p.add_argument("--batch-size", type=int, default=32, help="network inputs per runner call")
    add_backend_arguments(p)
    p.add_argument("--width-mult", type=float, default=None)
    p.add_argument("--num-classes", type=int, default=None)
    p.add_argument("--fuse", nargs="+", default=[], metavar="W2",
                   help="more weights whose posteriors are averaged with --weights (fusion)")
    p.add_argument("--paper-table", type=int, choices=(3, 4, 5, 6), default=None,
                   help="run the protocols and scales of the paper's Table N and print the "
                        "paper's numbers next to ours")
    p.add_argument("--json", default=None, metavar="OUT", help="also write the results as JSON")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(run=run_eval)


def _inputs(args: argparse.Namespace, options: dict) -> list:
    return [args.data, *(args.weights or []), *args.fuse, *file_options(options)]


def run_eval(args: argparse.Namespace) -> int:
    from ..eval.data import find_images
    from ..eval.loop import evaluate_protocols
    from ..eval.network import load_network
    from ..eval.scales import parse_scales
    from ..eval.tables import PAPER_TABLES
    from .output import ProgressBar

    backend, options = resolve_backend(args)
    if args.json:  # before the evaluation, not after it; never over what it reads
        check_writable(args.json, "--json", inputs=_inputs(args, options))
    protocols = [p.strip() for p in args.protocol.split(",") if p.strip()]
    multi_scale = args.multi_scale
    fuse_all = bool(args.fuse)
    if args.paper_table is not None:
        table = PAPER_TABLES[args.paper_table]
        protocols, multi_scale, fuse_all = list(table.protocols), table.multi_scale, table.fuse
        if table.fuse and len(args.weights) + len(args.fuse) < 2:
            raise VggzooError("--paper-table 6 fuses networks: pass two or more --weights")
    elif args.fuse and len(args.weights) != 1:
        raise VggzooError("--fuse averages with one --weights file; pass exactly one")
    weights = [*args.weights, *args.fuse]
    combination = (None if args.combination_weights is None
                   else parse_combination_weights(args.combination_weights))

    def network(w):
        return load_network(args.model, w, backend=backend, width_mult=args.width_mult,
                            num_classes=args.num_classes, train_scale=args.train_scale, **options)

    data = find_images(args.data)  # bad data fails before networks are built
    groups = [[network(w) for w in weights]] if fuse_all else [[network(w)] for w in weights]
    results = []
    for nets in groups:
        with ProgressBar("evaluating", enabled=args.progress and sys.stderr.isatty()
                         and int(os.environ.get("RANK", 0)) == 0) as bar:
            results += evaluate_protocols(
                nets, data, protocols, scales=parse_scales(args.scales) if args.scales else None,
                multi_scale=multi_scale, flip=args.flip, batch_size=args.batch_size,
                combination_weights=combination, progress=bar)
    from ..eval.distributed import current_shard, finish

    rank = current_shard().rank
    finish()
    if rank != 0:
        return 0
    _report(results, args)
    return 0


def _report(results, args: argparse.Namespace) -> None:
    """Print the table, the notes, skipped images and non-finite warnings; write --json."""
    from ..eval.tables import markdown, write_json
    from .output import echo, shown_path

    print(markdown(results, args.paper_table))
    for note in dict.fromkeys(note for r in results for note in r.notes):
        echo(f"note: {note}")
    skipped = {s.path: s.reason for r in results for s in r.skipped}
    if skipped:
        echo(f"skipped {len(skipped)} unreadable image(s):")
        for path, reason in skipped.items():
            echo(f"  {shown_path(path)}: {shown_path(reason)}")
    for r in results:
        if r.nonfinite:
            echo(f"warning: {r.nonfinite} of {r.images} images gave non-finite outputs (NaN/inf) "
                 f"with protocol {r.protocol}; they count as wrong")
    if args.json:
        write_json(args.json, results, args.paper_table)
        echo(f"wrote {args.json}")


def parse_combination_weights(text: str) -> list[float]:
    try:
        return [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise VggzooError(f"--combination-weights {text!r}: write two numbers, e.g. 1,1") from None
