"""``vggzoo serve WEIGHTS|FILE``: a real Triton server on 127.0.0.1.

Added to the ``vggzoo`` command line through the ``vggzoo.commands`` entry
point of this distribution.  It writes the python-backend model (the dense
protocol on the server) into ``--repository`` (default: a temporary folder,
removed at exit), starts ``tritonserver`` with HTTP and gRPC, prints the
endpoints and model names, and stops cleanly on SIGINT/SIGTERM (exit 0, no
process left; a given repository is left intact).
"""

from __future__ import annotations

import argparse
import shutil
import signal
import tempfile
import threading
from pathlib import Path

from ..triton.runtimes import DEFAULT_RUNTIME, RUNTIMES


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser(
        "serve", help="serve weights or an exported .onnx file with a real Triton server",
        description="Export what is needed into a Triton python-backend repository and serve "
                    "it on 127.0.0.1 (HTTP and gRPC) until SIGINT/SIGTERM. Clients send "
                    "decoded uint8 images; the server runs the paper's dense protocol "
                    "(`vggzoo predict PATHS --server grpc://127.0.0.1:PORT`).")
    p.add_argument("source", metavar="WEIGHTS|FILE",
                   help="an exported .onnx file, or weights (file, run directory, named weights)")
    p.add_argument("--model", help="architecture, for weights that do not record it")
    p.add_argument("--repository", type=Path,
                   help="model repository to write into and serve (default: a temporary one)")
    p.add_argument("--name", help="model name in the repository (default: the model's)")
    p.add_argument("--http-port", type=int, default=8000, help="HTTP port (default 8000; 0: free)")
    p.add_argument("--grpc-port", type=int, default=8001, help="gRPC port (default 8001; 0: free)")
    p.add_argument("--scales", default=None, metavar="Q,Q,...",
                   help="test scales (default: from the weights' training scale, else 256)")
    p.add_argument("--multi-scale", action="store_true",
                   help="three test scales from the training scale (the paper's rule)")
    p.add_argument("--max-batch", type=int, default=32, help="dynamic batching bound (default 32)")
    p.add_argument("--max-side", type=int, default=None,
                   help="largest image height/width a request may send (default 2048)")
    p.add_argument("--runtime", choices=tuple(RUNTIMES), default=None,
                   help=f"the runner the server runs the network on (an int8 .onnx file from "
                        f"`vggzoo-export --int8` is served as int8); default {DEFAULT_RUNTIME}")
    p.add_argument("--start-timeout", type=float, default=120.0, metavar="S")
    p.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    from vggzoo.cli.output import echo
    from vggzoo.data.scales import parse_scales
    from vggzoo.errors import OptionError
    from vggzoo import io

    from ..plugin import ensure_registered
    from ..serve.prepare import prepare_repository
    from ..serve.server import start_server

    ensure_registered()
    for flag, port in (("--http-port", args.http_port), ("--grpc-port", args.grpc_port)):
        if not 0 <= port <= 65535:
            raise OptionError(f"{flag} {port}: choose a port in 0-65535 (0: a free one)")
    if args.repository is not None:
        io.check_writable_dir(args.repository, "--repository")
    scales = parse_scales(args.scales) if args.scales else None
    own = args.repository is None
    repository = Path(tempfile.mkdtemp(prefix="vggzoo-repo-")) if own else args.repository
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        repository.mkdir(parents=True, exist_ok=True)
        name, _ = prepare_repository(args.source, repository, model=args.model, name=args.name,
                                     scales=scales, multi_scale=args.multi_scale,
                                     max_batch=args.max_batch, max_side=args.max_side,
                                     runtime=args.runtime, log=echo)
        if stop.is_set():
            return 130
        server = start_server(repository, http_port=args.http_port or None,
                              grpc_port=args.grpc_port or None, timeout=args.start_timeout)
        try:
            echo(f"Triton server pid {server.pid}, repository {repository}")
            echo(f"HTTP  http://{server.http_url}")
            echo(f"gRPC  grpc://{server.grpc_url}")
            for model, state in sorted(server.states.items()):
                echo(f"model {model}: {state}")
            echo(f"try: vggzoo predict IMAGE --server grpc://{server.grpc_url} --server-model "
                 f"{name}")
            echo("stop with Ctrl-C (SIGINT) or SIGTERM")
            while not stop.wait(0.5):
                if not server.running():
                    echo(f"the server exited by itself (code {server.process.returncode})")
                    return 1
        finally:
            code = server.stop()
        echo(f"stopped (tritonserver exit code {code})")
        return 0
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if own:
            shutil.rmtree(repository, ignore_errors=True)
