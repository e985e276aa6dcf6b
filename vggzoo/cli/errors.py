"""How both command lines (``vggzoo``, ``vggzoo-export``) end on an error.

A user mistake or a problem of the machine (a full disk, a folder that is not
writable, a path that is a folder) ends the command with one line on stderr
that names the problem and the fix, and exit code 2.  A bug in vggzoo still
shows its traceback.  ``--debug`` (on every command) or ``VGGZOO_DEBUG=1``
shows the full traceback for every error.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator

from ..errors import VggzooError
from ..io import NO_ROOM, write_failure

DEBUG_ENV = "VGGZOO_DEBUG"
#: Exit code of a command that stopped on a user error.
USER_ERROR = 2
#: Exit code after Ctrl-C (128 + SIGINT), as shells report it.
INTERRUPTED = 130
#: Exit code after SIGTERM (128 + SIGTERM).
TERMINATED = 143


#: The KeyboardInterrupt SIGTERM becomes (``kill``, a batch scheduler,
#: ``torchrun`` stopping its workers), raised where the program is, like
#: Ctrl-C's: ``finally`` blocks and context managers run, so atomic writes
#: drop their temporary file, the run lock is released and the last
#: checkpoint stays the last complete one.  Not an Exception subclass, so no
#: ``except Exception`` swallows it.
SIGTERM_REASON = "SIGTERM"


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Turn SIGTERM into a KeyboardInterrupt (:data:`SIGTERM_REASON`) while
    the command runs (main thread only: signal handlers cannot be set elsewhere)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def terminate(signum: int, frame: object) -> None:
        raise KeyboardInterrupt(SIGTERM_REASON)

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)



def add_debug_argument(parser: argparse.ArgumentParser) -> None:
    """``--debug`` on ``parser`` and every sub-command below it, so it may be
    written before or after the command name."""
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help=f"show full tracebacks of errors (or set {DEBUG_ENV}=1)")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                add_debug_argument(sub)


def debug_enabled(args: argparse.Namespace | None = None) -> bool:
    return bool(getattr(args, "debug", False)) or os.environ.get(DEBUG_ENV, "") not in ("", "0")


def user_error(exc: BaseException) -> str | None:
    """The one-line message for an error the user can fix, else ``None``
    (a bug: the traceback is shown)."""
    if isinstance(exc, VggzooError):
        return _one_line(str(exc))
    if isinstance(exc, OSError):
        return _one_line(_os_error(exc))
    reason = write_failure(exc)
    if reason is not None:
        return _one_line(f"writing a file failed: {reason}; free space on that disk or write "
                         f"somewhere else")
    return None


def _os_error(exc: OSError) -> str:
    what = exc.strerror or str(exc)
    where = f"{exc.filename}: " if exc.filename else ""
    if exc.errno in NO_ROOM:
        fix = "free space on that disk or write somewhere else"
    elif exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        fix = "choose a path you can write (or read), or fix its permissions"
    elif exc.errno == errno.EISDIR:
        fix = "name a file, not a folder"
    elif exc.errno in (errno.ENOENT, errno.ENOTDIR):
        fix = "check the path"
    else:
        return f"{where}{what}" if exc.strerror else str(exc)
    return f"{where}{what}; {fix}"


def _one_line(text: str) -> str:
    return " ".join(text.split())


def run_command(prog: str, command: Callable[[], int], *, debug: bool = False) -> int:
    """Run ``command``; user errors become one line on stderr and exit 2,
    Ctrl-C and SIGTERM one line and exit 130 / 143."""
    try:
        with sigterm_as_interrupt():
            return int(command() or 0)
    except KeyboardInterrupt as exc:
        if debug:
            raise
        terminated = exc.args[:1] == (SIGTERM_REASON,)
        print(f"{prog}: {'terminated (SIGTERM)' if terminated else 'interrupted'}",
              file=sys.stderr)
        return TERMINATED if terminated else INTERRUPTED
    except Exception as exc:
        message = user_error(exc)
        if message is None or debug:
            raise
        print(f"{prog}: error: {message}", file=sys.stderr)
        return USER_ERROR
