"""Atomic file writes: a crash or kill never leaves a half-written file.

Write to a temporary file in the destination's directory, fsync it, then
``os.replace`` it over the target (atomic on POSIX and Windows).  The file
gets the permissions a plain ``open()`` would give it (0666 less the umask),
not ``mkstemp``'s private 0600.  A writer killed mid-write leaves its
``.NAME.*.tmp``; :func:`remove_stale_temps` clears those once the caller
knows no writer is alive (e.g. it holds the run directory's lock).

An output is written as the user meant it: through a symlink (the link
stays, its destination gets the file), into a FIFO or character device
(``/dev/stdout``) as a stream once the file is complete; a block device or
socket is refused.  :func:`check_writable` is the one check every command
runs on its outputs before work starts: writable, not one of the command's
own inputs, not one of a training run's files.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path; on success it replaces ``path`` atomically.

    >>> with atomic_path("model.safetensors") as tmp:
    ...     save_file(tensors, tmp)
    """
    target = destination(path)
    if is_stream(target):
        with _streamed(target) as tmp:
            yield tmp
        return
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
        fsync_dir(directory)
    except BaseException as exc:
        tmp.unlink(missing_ok=True)
        reason = write_failure(exc)
        if reason is None:
            raise
        from .errors import OutputError

        raise OutputError(f"cannot write {target}: {reason}; free space on that disk or "
                          f"write somewhere else") from exc


TEMP_SUFFIX = ".tmp"


def destination(path: str | os.PathLike) -> Path:
    """Where writing ``path`` puts the bytes: a symlink's final destination
    (the link itself is kept), else ``path``.  A block device, socket or
    other non-regular file is refused: replacing it would destroy it."""
    target = Path(path)
    if target.is_symlink():
        target = Path(os.path.realpath(target))
    try:
        mode = target.stat().st_mode
    except OSError:
        return target  # not there yet: a new file
    if not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or is_stream(target)):
        from .errors import OutputError

        raise OutputError(f"{path} is not a regular file (a block device or socket); "
                          f"vggzoo will not replace it: name a file to write")
    return target


def is_stream(path: Path) -> bool:
    """A FIFO or character device: written to as a stream, never replaced."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISCHR(mode)


@contextlib.contextmanager
def _streamed(target: Path) -> Iterator[Path]:
    """A temporary file (in the system's temp folder) copied into the FIFO or
    device ``target`` once the writer has finished it."""
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=TEMP_SUFFIX)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        with open(tmp, "rb") as source, open(target, "wb") as sink:
            shutil.copyfileobj(source, sink)
    finally:
        tmp.unlink(missing_ok=True)


def current_umask() -> int:
    """The process's umask (read without changing it where the OS allows)."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)  # elsewhere: the classic read-and-restore
    os.umask(mask)
    return mask


def keep_as_previous(path: Path, previous: Path) -> None:
    """Make ``path`` also ``previous`` without ever removing ``path``: a hard
    link (a copy where links are not supported) renamed into place, so a
    writer killed at any moment still leaves ``path``.  Callers do this for
    a file they know is good (:func:`is_known_good`), just before a verified
    new file replaces it, so the good one before a damaged write is kept."""
    staged = previous.with_name(f".{previous.name}.{os.getpid()}{TEMP_SUFFIX}")
    staged.unlink(missing_ok=True)
    try:
        os.link(path, staged)
    except OSError:
        shutil.copy2(path, staged)
    os.replace(staged, previous)


#: Files (inode, size, mtime) this process wrote or verified, by identity.
_KNOWN_GOOD: set[tuple[int, int, int]] = set()


def _identity(path: Path) -> tuple[int, int, int] | None:
    try:
        info = Path(path).stat()
    except OSError:
        return None
    return info.st_ino, info.st_size, info.st_mtime_ns


def mark_known_good(path: str | os.PathLike) -> None:
    """Record that ``path``, as it is now, was written and verified (or
    read and verified) by this process."""
    identity = _identity(Path(path))
    if identity is not None:
        _KNOWN_GOOD.add(identity)


def is_known_good(path: str | os.PathLike) -> bool:
    """Whether ``path`` is unchanged since :func:`mark_known_good`."""
    identity = _identity(Path(path))
    return identity is not None and identity in _KNOWN_GOOD


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


def fsync_dir(directory: Path) -> None:
    """Make a rename (or new entry) in ``directory`` durable; where a platform
    cannot fsync a folder, do nothing."""
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def check_writable(target: str | os.PathLike, option: str = "the output",
                   file_name: str | None = None, *,
                   inputs: Iterable[str | os.PathLike | None] = (),
                   own_run: str | os.PathLike | None = None) -> Path:
    """Raise :class:`~vggzoo.errors.OutputError` unless a file can be written
    at ``target``: its folder exists and is writable, it is not a folder, a
    block device or socket, not one of the command's ``inputs`` (files it
    reads), and not one of a training run's files (except those of
    ``own_run``, the run whose files the command writes, e.g. its plots).
    Returns where the bytes will go (a symlink's destination).

    Called before long work starts, so a bad ``-o``/``--json`` costs nothing.
    """
    from .errors import OutputError

    given = Path(target)
    if given.is_dir():
        raise OutputError(f"{option} {given} is a folder; name a file in it, e.g. "
                          f"{option.split('/')[0]} {given / (file_name or 'FILE')}")
    target = destination(given)
    if is_stream(target):
        if not os.access(target, os.W_OK):
            raise OutputError(f"cannot write {option} {given}: not writable; pass another "
                              f"{option}")
        return target
    directory = target.parent
    if not directory.is_dir():
        raise OutputError(f"cannot write {option} {given}: folder {directory} does not exist; "
                          f"create it or pass another {option}")
    if not os.access(directory, os.W_OK | os.X_OK):
        raise OutputError(f"cannot write {option} {given}: folder {directory} is not writable; "
                          f"pass another {option} in a folder you can write")
    if target.exists() and not os.access(target, os.W_OK):
        raise OutputError(f"cannot write {option} {given}: the file is read-only; pass another "
                          f"{option} or make it writable")
    _refuse_inputs(given, target, option, inputs)
    _refuse_run_files(given, target, option, own_run)
    return target


def _refuse_inputs(given: Path, target: Path, option: str,
                   inputs: Iterable[str | os.PathLike | None]) -> None:
    """An input file is never an output; nor is an image inside an input
    folder (the folders vggzoo reads are folders of images)."""
    from .data.images import is_image_file
    from .errors import OutputError

    for source in inputs:
        if source is None:
            continue
        source = Path(source)
        inside = source.is_dir() and is_image_file(target.name) and _within(target, source)
        if inside or _same_file(target, source):
            what = (f"an image in the input folder {source}" if inside
                    else f"also an input of this command ({source})")
            raise OutputError(f"{option} {given} is {what}: writing it would destroy what the "
                              f"command reads; pass another {option}")


def _within(path: Path, folder: Path) -> bool:
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))


def _same_file(a: Path, b: Path) -> bool:
    if not b.is_file():
        return False
    if a.exists():
        return os.path.samefile(a, b)
    return os.path.realpath(a) == os.path.realpath(b)


# A training run's directory, as far as every output must know it: which files
# are the run's own.  vggzoo.training.rundir writes and locks the run; the
# names live here so that check_writable can protect them without io
# depending on training.
CONFIG_FILE = "config.json"
CHECKPOINT_DIR = "checkpoints"
METRICS_FILE = "metrics.jsonl"
LOCK_FILE = ".vggzoo.lock"
#: The weights file a finished training run leaves in its run directory.
RUN_WEIGHTS = "model.safetensors"
#: The good weights file :data:`RUN_WEIGHTS` replaced, kept beside it.
RUN_PREVIOUS_WEIGHTS = "previous.safetensors"
#: Files a run writes (besides its checkpoints): what ``--overwrite`` removes.
RUN_FILES = (CONFIG_FILE, METRICS_FILE, RUN_WEIGHTS, RUN_PREVIOUS_WEIGHTS, "loss.png",
             "error.png", "lr.png")


def is_run_dir(path: Path) -> bool:
    """A folder a training run writes: its lock file, or its config and checkpoints."""
    return (path / LOCK_FILE).is_file() or (
        (path / CONFIG_FILE).is_file() and (path / CHECKPOINT_DIR).is_dir())


def run_owning(path: Path) -> Path | None:
    """The run directory whose own file ``path`` is (its config, metrics,
    weights, plots, lock or anything in its checkpoint folder), else ``None``:
    no other command's output may land there."""
    path = Path(os.path.abspath(path))
    folder = path.parent
    if folder.name == CHECKPOINT_DIR and is_run_dir(folder.parent):
        return folder.parent
    if path.name in (*RUN_FILES, LOCK_FILE) and is_run_dir(folder):
        return folder
    return None


def _refuse_run_files(given: Path, target: Path, option: str,
                      own_run: str | os.PathLike | None = None) -> None:
    from .errors import OutputError

    run = run_owning(target)
    if run is not None and not (own_run is not None and _same_folder(run, Path(own_run))):
        raise OutputError(f"{option} {given} is a file of the training run in {run}: writing it "
                          f"would replace the run's own {target.name}; pass another {option} "
                          f"(a new name in that folder is fine)")


def _same_folder(a: Path, b: Path) -> bool:
    return os.path.realpath(a) == os.path.realpath(b)


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
