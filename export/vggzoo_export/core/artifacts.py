"""Atomic writes of artifacts made of one or more files.

An ONNX model over 2 GB keeps its weights in a ``.data`` file beside it, and
the model refers to that file by a path relative to itself.  Both are built
in a hidden staging folder inside the destination folder (same file system,
so the final moves are renames), checked there, and only then moved into
place, data first: a failure at any point before the move leaves no new
file behind, and the model never points at a missing data file.

A process killed mid-export (SIGKILL, power loss) cannot remove its staging
folder, ``.NAME.PID.XXXX.partial``, which may hold gigabytes.  The next
export to the same ``NAME`` removes such leftovers when their owner (the
host, pid and process start time recorded in the folder's ``owner`` file) is
known to be gone; a folder whose owner still runs, or runs on another host,
is left alone, and one without an owner file only once it is a day old.
"""

from __future__ import annotations

import contextlib
import glob
import json
import logging
import os
import shutil
import socket
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from vggzoo import io
from vggzoo.errors import OutputError

from ..errors import ExportError


#: Suffixes of the weights files vggzoo reads: never the name of an exported file.
WEIGHTS_SUFFIXES = (".safetensors", ".pth")


def check_writable(target: Path, file_name: str | None = None) -> None:
    """Raise :class:`ExportError` when ``target`` cannot be written (missing
    or read-only folder, ``target`` a folder, or a training run's file: see
    :func:`vggzoo.io.check_writable`), or when it names a weights file
    although the format's own file name (``file_name``) does not."""
    suffix = Path(target).suffix.lower()
    if suffix in WEIGHTS_SUFFIXES and file_name and not file_name.lower().endswith(suffix):
        raise ExportError(f"-o/--output {target} names a weights file ({Path(target).suffix}); an "
                          f"export writes a model file such as {Path(target).stem}.onnx: pass "
                          f"an -o/--output with the format's suffix")
    try:
        if io.is_stream(io.destination(target)):
            raise ExportError(f"-o/--output {target} is a FIFO or device; an export is moved "
                              f"into place as a file (with its companions): name a regular file")
        io.check_writable(target, "-o/--output", file_name)
    except OutputError as exc:
        raise ExportError(str(exc)) from None


log = logging.getLogger("vggzoo.export")

STAGE_SUFFIX = ".partial"
OWNER_FILE = "owner"
#: Age after which a staging folder without an owner file counts as stale.
UNOWNED_STALE_SECONDS = 24 * 3600


def _start_time(pid: int) -> str | None:
    """The kernel's start time of ``pid`` (Linux ``/proc``; ``None`` elsewhere),
    which tells a live owner from a later process that reuses its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = stat.rsplit(")", 1)[-1].split()
    return None if fields[0] == "Z" else fields[19]  # zombies are dead; field 22 of stat


def _this_process() -> dict:
    return {"host": socket.gethostname(), "pid": os.getpid(), "start": _start_time(os.getpid())}


def _owner_gone(owner: dict) -> bool:
    if owner.get("host") != socket.gethostname():
        return False  # another machine's export (shared file system): cannot tell
    pid = int(owner["pid"])
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        pass  # exists, another user's
    if Path("/proc").is_dir():
        start = _start_time(pid)
        return start is None or (owner.get("start") is not None and start != owner["start"])
    return False


def remove_stale_stages(target: str | os.PathLike) -> list[Path]:
    """Remove the staging folders of ``target`` left by exports that died;
    returns what was removed."""
    target = Path(target)
    removed = []
    for stage in target.parent.glob(f".{glob.escape(target.name)}.*{STAGE_SUFFIX}"):
        if not stage.is_dir() or stage.is_symlink():
            continue
        try:
            owner = json.loads((stage / OWNER_FILE).read_text())
            stale = _owner_gone(owner)
        except (OSError, ValueError, KeyError, TypeError):
            try:
                stale = time.time() - stage.stat().st_mtime > UNOWNED_STALE_SECONDS
            except OSError:
                continue
        if stale:
            shutil.rmtree(stage, ignore_errors=True)
            log.info("removed %s, left by an export that did not finish", stage)
            removed.append(stage)
    return removed


@contextlib.contextmanager
def staged_artifact(target: str | os.PathLike, companions: tuple[str, ...] = ()) -> Iterator[Path]:
    """Yield a staging folder; on success move ``target.name`` and the
    companion files (names relative to the target's folder) into place.

    Companions that were not produced are removed from the destination, so a
    stale ``model.onnx.data`` never outlives the model that used it.

    >>> with staged_artifact("vgg16.onnx", ("vgg16.onnx.data",)) as stage:
    ...     write_model(stage / "vgg16.onnx")
    """
    target = Path(target)
    check_writable(target)
    # Through a symlink: its destination gets the file (the link stays);
    # companions go beside it, where the model's relative references point.
    final = io.destination(target)
    folder = final.parent
    remove_stale_stages(final)
    stage = Path(tempfile.mkdtemp(prefix=f".{final.name}.{os.getpid()}.", suffix=STAGE_SUFFIX,
                                  dir=folder))
    try:
        try:
            (stage / OWNER_FILE).write_text(json.dumps(_this_process()))
            yield stage
        except Exception as exc:
            reason = io.write_failure(exc)
            if reason is None:
                raise
            raise ExportError(f"cannot write {target}: {reason}; free space on that disk or "
                              f"pass an -o/--output on another one") from exc
        if not (stage / target.name).is_file():
            raise ExportError(f"internal error: {target.name} was not produced")
        produced = [name for name in companions if (stage / name).exists()]
        for name in produced:
            _durable_replace(stage / name, folder / name)
        _durable_replace(stage / target.name, final)
        for name in set(companions) - set(produced):
            (folder / name).unlink(missing_ok=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _durable_replace(source: Path, destination: Path) -> None:
    with open(source, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(source, destination)
