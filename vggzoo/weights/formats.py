"""One checked reader per file format vggzoo reads tensors from.

Every error is one :class:`~vggzoo.errors.DamagedFileError` line that says
what the file is, what is wrong with it and whether it looks truncated,
damaged or of another format, instead of a ``SafetensorError``,
``PytorchStreamReader`` or ``JSONDecodeError`` traceback.  Contents are
then checked against the digest the file records (:mod:`.verify`).

* :func:`read_safetensors_header` checks a ``.safetensors`` file's framing
  (header length, JSON, dtypes, shapes, offsets, file size) before
  safetensors maps it;
* :func:`load_safetensors` reads its tensors and verifies them;
* :func:`load_torch_file` reads a torch file (state dict or checkpoint)
  with ``weights_only=True`` and verifies a vggzoo checkpoint's digest.
"""

from __future__ import annotations

import json
import math
import os
import struct
from pathlib import Path
from typing import Any

import torch

from ..errors import DamagedFileError
from . import verify

#: Bytes per element of every dtype safetensors writes.
SAFETENSORS_DTYPES = {"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1, "I16": 2, "U16": 2,
                      "F16": 2, "BF16": 2, "I32": 4, "U32": 4, "F32": 4, "I64": 8, "U64": 8,
                      "F64": 8}
#: safetensors' own limit on the JSON header.
MAX_HEADER_BYTES = 100 * 1024 * 1024
ZIP_MAGIC = b"PK\x03\x04"
#: What to do about a damaged weights file, unless the caller knows better.
WEIGHTS_FIX = "restore the file from a good copy or save the weights again"
#: Pickle protocol 2+ opcode: how torch's legacy (pre-zip) files start.
PICKLE_MAGIC = b"\x80"


def _fail(path: Path, what: str, problem: str, verdict: str, fix: str) -> DamagedFileError:
    return DamagedFileError(f"cannot read {what} {path}: {problem} ({verdict}); {fix}")


def read_safetensors_header(path: str | os.PathLike, *, fix: str = WEIGHTS_FIX
                            ) -> dict[str, Any]:
    """The parsed JSON header of a ``.safetensors`` file, after checking that
    it describes the file: every tensor's dtype, shape and byte range, and
    ranges that tile the data exactly to the end of the file.  ``fix`` ends
    every error (what the user should do)."""
    path = Path(path)
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise _fail(path, "safetensors file", f"it has {size} bytes, fewer than the 8 of "
                        f"the header length", "truncated", fix)
        (length,) = struct.unpack("<Q", head)
        if length > MAX_HEADER_BYTES:
            raise _fail(path, "safetensors file", f"its header length field says {length} "
                        f"bytes", "damaged, or another format", fix)
        if length > size - 8:
            raise _fail(path, "safetensors file", f"its header needs {length} bytes but the "
                        f"file has {size - 8} after the length field", "truncated", fix)
        text = handle.read(length)
    if not text.lstrip().startswith(b"{"):
        raise _fail(path, "safetensors file", "its header is not JSON",
                    "damaged, or another format", fix)
    try:
        header = json.loads(text)
    except (UnicodeDecodeError, ValueError) as exc:
        raise _fail(path, "safetensors file", f"its JSON header does not parse ({exc})",
                    "damaged", fix) from None
    if not isinstance(header, dict):
        raise _fail(path, "safetensors file", "its header is not a JSON object", "damaged", fix)
    _check_entries(path, header, size - 8 - length, fix)
    return header


def _check_entries(path: Path, header: dict[str, Any], data_bytes: int, fix: str) -> None:
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict) or not all(isinstance(v, str) for v in meta.values()):
        raise _fail(path, "safetensors file", "its __metadata__ is not a map of strings",
                    "damaged", fix)
    ranges = []
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = entry["dtype"], entry["shape"], entry["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise _fail(path, "safetensors file", f"tensor {name!r} lacks dtype, shape or "
                        f"data_offsets", "damaged", fix) from None
        if dtype not in SAFETENSORS_DTYPES:
            raise _fail(path, "safetensors file", f"tensor {name!r} has unknown dtype "
                        f"{dtype!r}", "damaged", fix)
        if not isinstance(shape, list) or not all(isinstance(d, int) and d >= 0 for d in shape):
            raise _fail(path, "safetensors file", f"tensor {name!r} has shape {shape!r}",
                        "damaged", fix)
        if not all(isinstance(v, int) for v in (begin, end)) or not 0 <= begin <= end:
            raise _fail(path, "safetensors file", f"tensor {name!r} has byte range "
                        f"{[begin, end]!r}", "damaged", fix)
        if end - begin != math.prod(shape) * SAFETENSORS_DTYPES[dtype]:
            raise _fail(path, "safetensors file", f"tensor {name!r} of shape {shape} {dtype} "
                        f"needs {math.prod(shape) * SAFETENSORS_DTYPES[dtype]} bytes but its "
                        f"range holds {end - begin}", "damaged", fix)
        ranges.append((begin, end, name))
    _check_tiling(path, sorted(ranges), data_bytes, fix)


def _check_tiling(path: Path, ranges: list[tuple[int, int, str]], data_bytes: int,
                  fix: str) -> None:
    position = 0
    for begin, end, name in ranges:
        if begin != position:
            raise _fail(path, "safetensors file", f"tensor {name!r} starts at byte {begin}, "
                        f"not {position}", "damaged", fix)
        position = end
    if position > data_bytes:
        raise _fail(path, "safetensors file", f"its tensors need {position} bytes of data but "
                    f"the file holds {data_bytes}", "truncated", fix)
    if position < data_bytes:
        raise _fail(path, "safetensors file", f"it holds {data_bytes - position} bytes after "
                    f"its last tensor", "damaged", fix)


def load_safetensors(path: str | os.PathLike, *, verify_digest: bool | None = None,
                     fix: str = WEIGHTS_FIX) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """Tensors and metadata of a checked ``.safetensors`` file, verified
    against its recorded digest (unless verification is off); ``fix`` ends
    every error."""
    from safetensors.torch import load_file

    path = Path(path)
    meta = dict(read_safetensors_header(path, fix=fix).get("__metadata__", {}))
    try:
        tensors = load_file(str(path))
    except Exception as exc:  # safetensors' own checks, beyond the framing checked above
        raise _fail(path, "safetensors file", f"{type(exc).__name__}: {exc}", "damaged",
                    fix) from exc
    if verify.verification_enabled(verify_digest):
        verify.check_tensors(path, tensors, verify.recorded_digest(meta), fix=fix)
    return tensors, meta


def load_torch_file(path: str | os.PathLike, *, what: str = "torch file",
                    fix: str = "restore it from a good copy or write it again",
                    verify_digest: bool | None = None) -> Any:
    """``torch.load(weights_only=True)`` with one-line errors, and a vggzoo
    checkpoint's digest (its :data:`~.verify.CHECKPOINT_DIGEST` entry, or
    the SHA-256 entry of earlier versions) checked and removed."""
    path = Path(path)
    with open(path, "rb") as handle:
        magic = handle.read(4)
    size = path.stat().st_size
    if magic != ZIP_MAGIC and not magic.startswith(PICKLE_MAGIC):  # zip, or torch's legacy format
        verdict = "truncated" if size < 4 else "another format, or damaged"
        raise _fail(path, what, f"it does not start like a torch file ({size} bytes)",
                    verdict, fix)
    try:
        contents = torch.load(path, map_location="cpu", weights_only=True,
                              mmap=magic == ZIP_MAGIC)
    except Exception as exc:
        raise _fail(path, what, *_torch_failure(exc), fix) from exc
    expected = (verify.recorded_digest(contents, verify.CHECKPOINT_DIGESTS)
                if isinstance(contents, dict) else None)
    if expected is not None:
        contents.pop(verify.CHECKPOINT_DIGESTS[expected.algorithm])
        if verify.verification_enabled(verify_digest):
            found = verify.contents_digest(contents, expected.algorithm)
            if found != expected.value:
                raise verify.mismatch(path, what, expected.value, found, fix, expected.algorithm)
    return contents


def _torch_failure(exc: Exception) -> tuple[str, str]:
    """What torch.load's error means: the problem and the verdict."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if "Weights only load failed" in text or "weights_only" in text:
        return ("it holds objects other than tensors and plain values, which vggzoo does not "
                "unpickle (they could run code)", "another kind of file")
    short = text[:200] + ("..." if len(text) > 200 else "")
    if "central directory" in text or "EOF" in text or "truncated" in text:
        return f"torch.load failed: {short}", "truncated"
    return f"torch.load failed: {short}", "damaged"
