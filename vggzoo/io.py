"""Atomic file writes: a crash or kill never leaves a half-written file.

Write to a temporary file in the destination's directory, fsync it, then
``os.replace`` it over the target (atomic on POSIX and Windows).  The file
gets the permissions a plain ``open()`` would give it (0666 less the umask),
not ``mkstemp``'s private 0600.  A writer killed mid-write leaves its
``.NAME.*.tmp``; :func:`remove_stale_temps` clears those once the caller
knows no writer is alive (e.g. it holds the run directory's lock).
"""

from __future__ import annotations

import contextlib
import errno
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
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX, dir=directory)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb+") as handle:
            # After the body: some writers (safetensors) re-create the file.
            os.fchmod(handle.fileno(), 0o666 & ~current_umask())
            os.fsync(handle.fileno())
        os.replace(tmp, target)
        _fsync_dir(directory)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        reason = write_failure(exc)
        if reason is None:
            raise
        from .errors import OutputError

        raise OutputError(f"cannot write {target}: {reason}; free space on that disk or "
                          f"write somewhere else") from exc


TEMP_SUFFIX = ".tmp"


def current_umask() -> int:
    """The process's umask (read without changing it where the OS allows)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: the classic read-and-restore
    os.umask(mask)
    return mask


def remove_stale_temps(directory: str | os.PathLike) -> list[Path]:
    """Delete the ``.NAME.*.tmp`` files :func:`atomic_path` leaves when its
    writer is killed; call it only when no writer into ``directory`` is alive."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = [p for p in directory.glob(f".*.*{TEMP_SUFFIX}") if p.is_file()]
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def _fsync_dir(directory: Path) -> None:
    # Makes the rename itself durable; not possible on every platform.
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_writable(target: str | os.PathLike, option: str = "the output",
                   file_name: str | None = None) -> Path:
    """Raise :class:`~vggzoo.errors.OutputError` unless a file can be written
    at ``target`` (its folder exists and is writable, and it is not a folder).

    Called before long work starts, so a bad ``-o``/``--json`` costs nothing.
    """
    from .errors import OutputError

    target = Path(target)
    directory = target.parent
    if target.is_dir():
        raise OutputError(f"{option} {target} is a folder; name a file in it, e.g. "
                          f"{option.split('/')[0]} {target / (file_name or 'FILE')}")
    if not directory.is_dir():
        raise OutputError(f"cannot write {option} {target}: folder {directory} does not exist; "
                          f"create it or pass another {option}")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {option} {target}: folder {directory} is not writable; "
                          f"pass another {option} in a folder you can write")
    if target.exists() and not os.access(target, os.W_OK):
        raise OutputError(f"cannot write {option} {target}: the file is read-only; pass another "
                          f"{option} or make it writable")
    return target


def check_writable_dir(path: str | os.PathLike, option: str = "the output folder") -> Path:
    """Raise :class:`~vggzoo.errors.OutputError` unless ``path`` is a writable
    folder or can be created (its nearest existing parent is writable)."""
    from .errors import OutputError

    path = Path(path)
    existing = path
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        raise OutputError(f"{option} {path}: {existing} is a file, not a folder; pass another "
                          f"{option}")
    if not os.access(existing, os.W_OK | os.X_OK):
        raise OutputError(f"{option} {path}: {existing} is not writable; pass another {option} "
                          f"in a folder you can write")
    return path


#: errno values of a write that failed for lack of room (disk, quota, file size limit).
NO_ROOM = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
#: What torch's file writer (``torch.save``) says when a write fails.
TORCH_WRITE_FAILURES = ("PytorchStreamWriter failed", "file write failed", "unexpected pos")


def write_failure(exc: BaseException) -> str | None:
    """Why a write ran out of room (a full disk, a quota, a file size limit),
    looking through wrapped errors; ``None`` for any other error."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in NO_ROOM:
            return f"{exc.strerror} (errno {exc.errno})"
        if isinstance(exc, RuntimeError) and any(m in str(exc) for m in TORCH_WRITE_FAILURES):
            reason = str(exc).strip().splitlines()[0].split("] . ", 1)[-1]
            return (f"torch's writer stopped ({reason}): the disk is probably full or the file "
                    f"too large for it")
        exc = exc.__cause__ or exc.__context__
    return None
