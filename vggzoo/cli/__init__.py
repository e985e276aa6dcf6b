"""The ``vggzoo`` command line.

Each command lives in its own module with an ``add_commands(subparsers)``
function; adding a command is one module plus one line in ``COMMANDS``.
Other distributions add commands the same way through an entry point in the
``vggzoo.commands`` group naming such a module (vggzoo-export's ``serve``).
User errors (vggzoo's own, and file-system ones such as a full disk) are
printed as one line, without a traceback, exit code 2; ``--debug`` or
``VGGZOO_DEBUG=1`` shows the traceback (:mod:`vggzoo.cli.errors`).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from .errors import add_debug_argument, debug_enabled, run_command

COMMANDS: tuple[str, ...] = (
    "vggzoo.cli.models",
    "vggzoo.cli.plugins",
    "vggzoo.cli.demo",
    "vggzoo.cli.eval",
    "vggzoo.cli.predict",
    "vggzoo.cli.train",
    "vggzoo.cli.lpips",
)

#: Entry-point group of command modules from other distributions.
COMMANDS_GROUP = "vggzoo.commands"


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(
        prog="vggzoo", description="VGG networks of Simonyan & Zisserman (2015): models, "
                                   "training recipe, evaluation protocols.")
    parser.add_argument("--version", action="version", version=f"vggzoo {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in COMMANDS:
        importlib.import_module(module).add_commands(subparsers)
    from importlib.metadata import entry_points

    for entry in entry_points(group=COMMANDS_GROUP):
        entry.load().add_commands(subparsers)
    add_debug_argument(parser)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return run_command(f"vggzoo {args.command}", lambda: args.run(args),
                       debug=debug_enabled(args))


if __name__ == "__main__":
    sys.exit(main())

from .._lazy import lazy_attributes

__getattr__, __dir__ = lazy_attributes(__name__, {}, globals())  # submodules on first use
