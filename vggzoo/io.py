"""Atomic file writes: a crash or kill never leaves a half-written file.

Write to a temporary file in the destination's directory, fsync it, then
``os.replace`` it over the target (atomic on POSIX and Windows).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``path`` atomically.

    >>> with atomic_path("model.safetensors") as tmp:
    ...     save_file(tensors, tmp)
    """
    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if not directory.is_dir():
        raise FileNotFoundError(f"cannot write {target}: directory {directory} does not exist")
    if not os.access(directory, os.W_OK):
        raise PermissionError(f"cannot write {target}: directory {directory} is not writable")
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        _fsync_dir(directory)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_writable(path: str | os.PathLike, option: str = "the output") -> Path:
    """Fail before any work when ``path`` cannot be written (a missing or
    read-only folder, or a folder in its place): a long run must not end
    with nowhere to put its result."""
    from .errors import OptionError

    target = Path(path)
    directory = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise OptionError(f"{option} {target} is a folder; pass a file name")
    if not directory.is_dir():
        raise OptionError(f"cannot write {option} {target}: folder {directory} does not exist; "
                          f"create it or pass another path")
    if not os.access(directory, os.W_OK | os.X_OK) or (target.exists()
                                                       and not os.access(target, os.W_OK)):
        raise OptionError(f"cannot write {option} {target}: it or its folder is not writable; "
                          f"pass a path you can write")
    return target
