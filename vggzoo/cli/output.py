"""Tables and messages for the terminal (rich), kept in one place."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence

from rich.console import Console
from rich.table import Table

#: Width used when output goes to a file or pipe (logs should not wrap at 80).
PIPE_WIDTH = 160


def get_console(stderr: bool = False) -> Console:
    """A console bound to the current stdout/stderr (tests swap them)."""
    console = Console(stderr=stderr)
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(stderr=stderr, width=PIPE_WIDTH)
    return console


def echo(message: str) -> None:
    get_console().print(message, highlight=False)


def print_table(title: str | None, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    table = Table(title=title, title_justify="left")
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(*("" if cell is None else str(cell) for cell in row))
    get_console().print(table)


def fmt_count(n: int | None) -> str:
    return "" if n is None else f"{n:,}"
