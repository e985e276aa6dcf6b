"""Opening an exported file: which backend runs it, and through which option.

A runner plugin says, when it registers, which files it opens:
``file_option`` names the factory option that takes the file (``onnx``,
``engine``, ``package``) and ``suffix`` claims the files that end in it by
default (``.onnx`` -> onnxruntime).  :func:`open_file` is then the one way
to open any exported file, through :func:`vggzoo.runtime.create_runner`:

>>> runner = open_file("vgg16.onnx")                   # onnxruntime
>>> runner = open_file("vgg16.onnx", backend="openvino", precision="bf16")
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ..errors import OptionError
from ..plugins.registry import RUNNERS
from .base import Runner, create_runner


def backend_for_file(path: str | os.PathLike, backends: Sequence[str] | None = None) -> str:
    """The registered backend that opens ``path`` by default (by the
    ``suffix`` it registered), among ``backends`` when given."""
    path = Path(path)
    entries = [e for e in (sorted(RUNNERS.entries(), key=lambda e: str(e.info.get("suffix")))
                           if backends is None else [RUNNERS.get(b) for b in backends])
               if e.info.get("suffix")]
    for entry in entries:
        if path.name.endswith(entry.info["suffix"]):
            return entry.name
    suffixes = " or ".join(e.info["suffix"] for e in entries) or "exported"
    raise OptionError(f"cannot open {path}: expected an {suffixes} file made by vggzoo-export "
                      f"(no {'chosen' if backends else 'registered'} backend opens "
                      f"'{path.suffix or path.name}' files)")


def file_option(backend: str) -> str:
    """The option of ``backend``'s factory that takes the file to run."""
    entry = RUNNERS.get(backend)
    option = entry.info.get("file_option")
    if option is None:
        raise OptionError(f"the {entry.name} backend does not open exported files; choose one "
                          f"of {', '.join(file_backends())}")
    return option


def file_backends() -> list[str]:
    """Backends that open exported files."""
    return [e.name for e in RUNNERS.entries() if e.info.get("file_option")]


def open_file(path: str | os.PathLike, backend: str | None = None, **options: Any) -> Runner:
    """The runner of an exported file: ``backend`` (default: the one its
    suffix names) with the file as its ``file_option`` and ``options``."""
    backend = backend or backend_for_file(path)
    return create_runner(backend, **{file_option(backend): path}, **options)
