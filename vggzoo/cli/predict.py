"""``vggzoo predict``: the top classes of your own images, on any backend."""

from __future__ import annotations

import argparse
import csv
import glob
import io
import json
import os
import sys

from .backend import add_backend_arguments, file_options, resolve_backend


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "predict", help="top-k classes of images, folders or globs (any protocol and backend)",
        description="Classify your own images with the paper's test protocols. PATH is an "
                    "image, a folder (walked) or a glob; unreadable files are listed and "
                    "skipped. The weights' recorded facts (architecture, width, classes, "
                    "preprocessing, training scale) are used; nothing needs repeating.")
    p.add_argument("paths", nargs="+", metavar="PATH")
    source = p.add_mutually_exclusive_group()
    source.add_argument("--weights", metavar="W",
                        help=".safetensors/.pth file, training run directory, or named weights "
                             "(vgg16.tv_in1k; see `vggzoo list --pretrained`)")
    p.add_argument("--model", default=None,
                   help="architecture, for weights that do not record it (e.g. a bare .pth)")
    p.add_argument("--protocol", default="dense",
                   help="single, dense, multicrop, dense+multicrop, or a plugin's (default dense)")
    p.add_argument("--scales", default=None, metavar="Q,Q,...",
                   help="test scales (default: from the weights' training scale, else 256)")
    p.add_argument("--multi-scale", action="store_true",
                   help="three test scales from the training scale (the paper's rule)")
    p.add_argument("--no-flip", dest="flip", action="store_false")
    p.add_argument("--topk", type=int, default=5)
    p.add_argument("--batch-size", type=int, default=32, help="network inputs per runner call")
    add_backend_arguments(p, files=source)
    remote = p.add_argument_group("Triton server (vggzoo serve, vggzoo-export --triton REPO "
                                  "--backend python)")
    remote.add_argument("--server", metavar="URL",
                        help="send the images to a Triton server instead: grpc://HOST:PORT or "
                             "http://HOST:PORT (it runs the dense protocol at its own scales)")
    remote.add_argument("--server-model", metavar="NAME",
                        help="model on the server (default: its only ready model)")
    remote.add_argument("--timeout", type=float, default=30.0, metavar="S",
                        help="seconds to wait for each server answer (default 30)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", metavar="OUT", help="write all predictions as JSON")
    out.add_argument("--csv", metavar="OUT", help="write one row per image and rank as CSV")
    p.add_argument("--no-progress", dest="progress", action="store_false")
    p.set_defaults(run=run_predict)


def run_predict(args: argparse.Namespace) -> int:
    from ..eval.inference import predict
    from ..io import atomic_path, check_writable
    from .output import ProgressBar, echo, print_table, shown_path

    output = args.json or args.csv
    if args.server:
        server_only(args)
        backend, options = None, {}
    else:
        backend, options = resolve_backend(args)
    if output:  # never over an image it reads, its weights, or a run's files
        check_writable(output, "--json" if args.json else "--csv",
                       inputs=[*_input_paths(args.paths), args.weights, *file_options(options)])
    with ProgressBar("predicting", enabled=args.progress and sys.stderr.isatty(),
                     transient=True) as bar:
        if args.server:
            result = predict_remote(args, bar)
        else:
            result = predict(args.paths, weights=args.weights, model=args.model, backend=backend,
                             protocol=args.protocol, scales=args.scales,
                             multi_scale=args.multi_scale, flip=args.flip, topk=args.topk,
                             batch_size=args.batch_size, progress=bar, **options)
    if output:
        with atomic_path(output) as tmp:
            # A file name that is not UTF-8 is written as its own bytes
            # (surrogateescape), so the row still names the file on disk.
            text = _json(result) if args.json else _csv(result)
            tmp.write_bytes(text.encode("utf-8", "surrogateescape"))
    for item in result.predictions:
        print_table(f"{shown_path(item.path)} ({item.size[0]}x{item.size[1]})",
                    ("rank", "class", "index", "probability"),
                    [(rank, s.name, s.index, f"{s.probability:.4f}")
                     for rank, s in enumerate(item.top, start=1)])
    names = {"weights": "", "imagenet": "; class names: ImageNet's (the weights record none)",
             "indices": "; the weights record no class names: classes are indices"}
    echo(f"{len(result.predictions)} image(s), {result.model or '?'} on {result.backend}, "
         f"protocol {result.protocol}, scales {result.scales}{names[result.class_names]}")
    if result.skipped:
        echo(f"skipped {len(result.skipped)} file(s):")
        for s in result.skipped:
            echo(f"  {shown_path(s.path)}: {shown_path(s.reason)}")
    if output:
        echo(f"wrote {shown_path(output)}")
    return 0


def _input_paths(paths: list[str]) -> list[str]:
    """The files and folders ``paths`` name, globs expanded."""
    found = []
    for text in paths:
        matched = [] if os.path.exists(text) else glob.glob(text, recursive=True)
        found += matched or [text]
    return found


def server_only(args: argparse.Namespace) -> None:
    """``--server``: the server decides network, protocol and scales."""
    from ..errors import OptionError
    from .backend import runner_flags

    local = [f.flag for f in runner_flags() if getattr(args, f.dest, None) is not None]
    local += [flag for flag, given in (
        ("--weights", args.weights), ("--model", args.model), ("--scales", args.scales),
        ("--multi-scale", args.multi_scale), ("--no-flip", not args.flip),
        ("--backend", args.backend), ("--protocol", args.protocol != "dense")) if given]
    if local:
        raise OptionError(f"{', '.join(local)} cannot be used with --server: the server's model "
                          f"fixes the network, the dense protocol and its scales")


def predict_remote(args: argparse.Namespace, progress):
    """``--server URL``: the predictions of a Triton server (vggzoo-export's client)."""
    from ..errors import BackendUnavailableError

    try:
        from vggzoo_export.serve.client import predict_on_server
    except ImportError as exc:
        raise BackendUnavailableError(f"--server needs vggzoo-export with tritonclient ({exc}): "
                                      f"pip install './export[triton]'") from None
    return predict_on_server(args.paths, args.server, model=args.server_model, topk=args.topk,
                             timeout=args.timeout, progress=progress)


def _json(result) -> str:
    return json.dumps(result.as_dict(), indent=2) + "\n"


def _csv(result) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=("path", "rank", "index", "class", "probability"))
    writer.writeheader()
    writer.writerows(result.rows())
    return buffer.getvalue()
