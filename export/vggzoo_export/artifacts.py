"""Atomic writes of artifacts made of one or more files.

An ONNX model over 2 GB keeps its weights in a ``.data`` file beside it, and
the model refers to that file by a path relative to itself.  Both are built
in a hidden staging folder inside the destination folder (same file system,
so the final moves are renames), checked there, and only then moved into
place, data first: a failure at any point before the move leaves no new
file behind, and the model never points at a missing data file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vggzoo import io
from vggzoo.errors import OutputError

from .errors import ExportError


def check_writable(target: Path, file_name: str | None = None) -> None:
    """Raise :class:`ExportError` when ``target`` cannot be written (missing
    or read-only folder, or ``target`` is a folder)."""
    try:
        io.check_writable(target, "-o/--output", file_name)
    except OutputError as exc:
        raise ExportError(str(exc)) from None


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
    stage = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
    try:
        try:
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
            _durable_replace(stage / name, target.parent / name)
        _durable_replace(stage / target.name, target)
        for name in set(companions) - set(produced):
            (target.parent / name).unlink(missing_ok=True)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _durable_replace(source: Path, destination: Path) -> None:
    with open(source, "rb+") as handle:
        os.fsync(handle.fileno())
    os.replace(source, destination)
