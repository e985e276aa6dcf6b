"""Writing one model of a Triton repository safely.

A model is one folder ``REPO/NAME`` (Triton loads every folder of the
repository as a model), so:

* ``NAME`` is one plain folder name: no ``/``, no ``..``, no leading dot;
* the model is built complete in a hidden staging folder of the repository
  (``REPO/.vggzoo-staging/``, which Triton never loads: hidden folders are
  skipped, see :data:`STAGING_DIR`) and renamed into place, so a write
  killed half-way leaves no ``1/model.onnx`` without its ``config.pbtxt``;
* writing over an existing model replaces it as a whole: no stale
  ``model.plan`` or older version folder survives under the new config.

Leftovers of a killed write (staging folders) are removed by the next write
of the same model.

>>> with staged_model("models", "vgg16") as folder:
...     (folder / "config.pbtxt").write_text(config)
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from vggzoo.errors import OptionError
from vggzoo.io import fsync_dir

#: Hidden folder of the repository where models are built before the rename.
STAGING_DIR = ".vggzoo-staging"
#: What Triton and every file system accept as a model (folder) name.
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


def check_model_name(name: str) -> str:
    """``name`` when it is one folder name a Triton server can load."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or name in (".", ".."):
        raise OptionError(f"Triton model name {name!r} is not one folder name: use letters, "
                          f"digits, '_', '-' and '.', not starting with '.' (no '/' or '..'), "
                          f"e.g. --triton-name vgg16_dense")
    return name


def staging_root(repo: str | os.PathLike) -> Path:
    return Path(repo) / STAGING_DIR


@contextlib.contextmanager
def staged_model(repo: str | os.PathLike, name: str) -> Iterator[Path]:
    """Yield an empty folder; when the block succeeds it becomes ``repo/name``,
    replacing what was there as a whole.  On an error nothing changes."""
    check_model_name(name)
    repo = Path(repo)
    root = staging_root(repo)
    root.mkdir(parents=True, exist_ok=True)
    _remove_leftovers(root, name)
    building = Path(tempfile.mkdtemp(prefix=f"{name}.", suffix=".new", dir=root))
    try:
        yield building
        _fsync_tree(building)
        target = repo / name
        if target.is_symlink() or target.is_file():
            raise OptionError(f"{target} exists and is not a model folder: remove it or choose "
                              f"another --triton-name")
        old = None
        if target.exists():
            old = Path(tempfile.mkdtemp(prefix=f"{name}.", suffix=".old", dir=root))
            os.rename(target, old / name)
        os.rename(building, target)
        fsync_dir(repo)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    finally:
        if building.exists():
            shutil.rmtree(building, ignore_errors=True)
        with contextlib.suppress(OSError):
            root.rmdir()  # only when empty


def _remove_leftovers(root: Path, name: str) -> None:
    """Staging folders of earlier writes of ``name`` killed before the rename."""
    for leftover in root.glob(f"{name}.*"):
        shutil.rmtree(leftover, ignore_errors=True)


def _fsync_tree(folder: Path) -> None:
    for path in sorted(folder.rglob("*"), reverse=True):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
        elif path.is_dir():
            fsync_dir(path)
    fsync_dir(folder)
