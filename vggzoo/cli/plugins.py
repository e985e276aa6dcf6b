"""``vggzoo plugins``: what is installed, what each plugin added, what failed."""

from __future__ import annotations

import argparse

from .. import plugins
from .output import echo, print_table


def add_commands(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("plugins", help="list plugins, their hooks and what they registered")
    p.set_defaults(run=run_plugins)


def run_plugins(args: argparse.Namespace) -> int:
    rows = []
    for record in plugins.records():
        origin = "built-in" if record.builtin else (
            f"{record.distribution} {record.version}" if record.distribution else "code")
        added = "; ".join(f"{kind}: {', '.join(names)}" for kind, names in record.registered.items())
        status = ("blocked (VGGZOO_BLOCK_PLUGINS)" if record.blocked
                  else "ok" if record.ok else f"FAILED: {record.error}")
        rows.append((record.name, origin, ", ".join(record.hooks), added or "-", status))
    print_table("vggzoo plugins", ("plugin", "distribution", "hooks", "registered", "status"), rows)
    if any(not r.ok for r in plugins.records()):
        echo("Failed plugins were skipped; fix or uninstall them.")
    return 0
