"""The run directory: one run per directory, one process writing it.

A run directory is the only copy of days of training, so nothing here
destroys it without being asked:

* starting a run where one already is (its ``config.json``, metrics,
  checkpoints or weights) is an error that names ``--resume`` and
  ``--overwrite``; only ``--overwrite`` deletes, only the files a run
  writes, and only once the new run has read its data and initial weights
  (so a typo or ``--init-from`` this very run never empties it);
* a second process training into the same directory stops at once with the
  first one's pid (an exclusive ``flock`` on ``.vggzoo.lock``, released by
  the kernel even when the holder is killed);
* temporary files of a killed writer (``.NAME.*.tmp`` from
  :func:`vggzoo.io.atomic_path`) are removed when the next run takes the
  lock: holding it proves their writer is gone.
"""

from __future__ import annotations

import contextlib
import errno
import os
from pathlib import Path

from ..errors import ConfigError
# The layout of a run directory lives in vggzoo.io (check_writable protects a
# run's files); named here for imports.
from ..io import (CHECKPOINT_DIR, CONFIG_FILE, LOCK_FILE, METRICS_FILE,  # noqa: F401
                  RUN_FILES, check_writable_dir, is_run_dir, remove_stale_temps, run_owning)
from .checkpoint import BEST, LAST, PREVIOUS


def existing_run_files(run_dir: Path) -> list[Path]:
    """The files of an earlier run in ``run_dir`` (empty: none there)."""
    found = [run_dir / name for name in RUN_FILES if (run_dir / name).exists()]
    checkpoints = run_dir / CHECKPOINT_DIR
    found += [checkpoints / name for name in (LAST, BEST, PREVIOUS) if (checkpoints / name).exists()]
    return found


def refuse_existing_run(run_dir: Path, *, overwrite: bool) -> list[Path]:
    """The files of the run already in ``run_dir``, which a fresh run may
    replace only with ``overwrite``; nothing is deleted here: the new run
    first reads and checks every input (data, options, ``--init-from``, which
    may be this very run) and deletes them with :func:`remove_run_files` once
    it is known to be valid."""
    found = existing_run_files(run_dir)
    if found and not overwrite:
        names = ", ".join(str(p.relative_to(run_dir)) for p in found[:4])
        raise ConfigError(f"{run_dir} already holds a training run ({names}); pass --resume to "
                          f"continue it, --overwrite to delete it and start again, or choose "
                          f"another --out")
    return found


def remove_run_files(run_dir: Path) -> None:
    """Delete the files of an earlier run in ``run_dir`` (and only those)."""
    for path in existing_run_files(run_dir):
        path.unlink(missing_ok=True)


def make_run_dir(run_dir: Path) -> None:
    """Create ``run_dir`` and its checkpoint folder, or say why it cannot be."""
    check_writable_dir(run_dir, "--out")
    (run_dir / CHECKPOINT_DIR).mkdir(parents=True, exist_ok=True)


class RunLock:
    """An exclusive lock on a run directory, held for the life of a run.

    >>> with RunLock(Path("runs/a")):
    ...     train()
    """

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LOCK_FILE
        self._fd: int | None = None

    def __enter__(self) -> RunLock:
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            holder = os.pread(fd, 64, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if exc.errno not in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                raise
            raise ConfigError(f"another process (pid {holder}) is training into "
                              f"{self.path.parent}; wait for it to finish, stop it, or choose "
                              f"another --out") from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        for folder in (self.path.parent, self.path.parent / CHECKPOINT_DIR):
            remove_stale_temps(folder)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)  # closing the descriptor releases the flock
            self._fd = None
