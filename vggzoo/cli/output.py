"""Tables and messages for the terminal (rich), kept in one place."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from rich.progress import Progress, ProgressColumn

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


class ProgressBar:
    """A rich progress bar fed by a library's ``progress(done, total, **info)``
    callback (:mod:`vggzoo.progress`): the library reports, the CLI draws.

    ``info["description"]`` relabels the bar; other ``info`` keys become task
    fields for ``columns`` (``{task.fields[loss]}``).  With ``task_key`` a new
    value of ``info[task_key]`` (an epoch) replaces the bar with a fresh one,
    and the last one is removed at the end.  Disabled, it draws nothing.

    >>> with ProgressBar("evaluating", enabled=sys.stderr.isatty()) as bar:
    ...     vggzoo.evaluate(..., progress=bar)
    """

    def __init__(self, description: str, *, enabled: bool = True, stderr: bool = True,
                 transient: bool = False, columns: Sequence[str | ProgressColumn] = (),
                 task_key: str | None = None) -> None:
        self.description, self.enabled, self.stderr = description, enabled, stderr
        self.transient, self.columns, self.task_key = transient, tuple(columns), task_key
        self._bar: Progress | None = None
        self._task: Any = None
        self._key: object = None

    def __enter__(self) -> ProgressBar:
        if self.enabled:
            from rich.progress import Progress  # not paid for by commands without a bar

            self._bar = Progress(*self.columns, console=get_console(stderr=self.stderr),
                                 transient=self.transient)
            self._bar.start()
            if self.task_key is None:
                self._task = self._bar.add_task(self.description, total=None)
        return self

    def __call__(self, done: int, total: int | None, /, **info: Any) -> None:
        if self._bar is None:
            return
        description = info.pop("description", None)
        key = info.get(self.task_key) if self.task_key else None
        if self.task_key is not None and (self._task is None or key != self._key):
            if self._task is not None:
                self._bar.refresh()  # the finished bar's last state is drawn, not skipped
                self._bar.remove_task(self._task)
            self._task = self._bar.add_task(description or self.description, total=total,
                                            completed=done, **info)
            self._key = key
            return
        if description is not None:
            info["description"] = description
        self._bar.update(self._task, completed=done, total=total, **info)

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            if self.task_key is not None and self._task is not None:
                self._bar.refresh()
                self._bar.remove_task(self._task)
            self._bar.stop()
            self._bar = None


def shown_path(path: object) -> str:
    """A file name as the terminal can print it: bytes that are not UTF-8
    (kept by Python as surrogate escapes) written as ``\\xe9``, the way
    ``ls -b`` does, instead of ending the command on a UnicodeEncodeError."""
    return os.fsencode(str(path)).decode("utf-8", "backslashreplace")
