"""Content digests: what a file vggzoo writes should hash to, recorded in
the file, and checked on every load.

A flipped bit inside tensor data leaves every file format valid: safetensors
and torch's zip readers check lengths, not contents, so damaged weights load
and give different numbers with exit code 0.  vggzoo therefore records a
SHA-256 over the *tensors* (name, dtype, shape and bytes, in name order) when
it writes weights, checkpoints and exported files, and recomputes it from
the tensors it just loaded, so the check reads the bytes the load reads
anyway and does not depend on the file's layout:

* ``.safetensors``: metadata key :data:`DIGEST_KEY`;
* checkpoints (``last.pt``/``best.pt``): the entry :data:`CHECKPOINT_DIGEST`,
  over every other entry (model, optimizer, RNG state, config, ...);
* ONNX files: ``metadata_props`` key ``vggzoo.tensors_sha256`` over the
  graph's initializers (see :mod:`vggzoo_export.core.integrity`).

Files without a recorded digest (written before vggzoo recorded one, or by
other tools) load as before.  Verification is on by default; set
``VGGZOO_VERIFY=0`` (or pass ``verify=False`` where a reader takes it) to
skip it, e.g. to rescue what is left of a damaged file.  The cost is one
SHA-256 pass over the tensor bytes (``bench/digest_cost.py``).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from typing import Any

import torch

from ..errors import DamagedFileError

#: ``.safetensors`` metadata key of the tensors' SHA-256.
DIGEST_KEY = "tensors_sha256"
#: Checkpoint entry holding the SHA-256 of every other entry.
CHECKPOINT_DIGEST = "sha256"
#: Environment variable that turns verification off (``0``, ``false``, ``no``, ``off``).
VERIFY_ENV = "VGGZOO_VERIFY"
_OFF = ("0", "false", "no", "off")


def verification_enabled(verify: bool | None = None) -> bool:
    """``verify`` when given, else on unless ``VGGZOO_VERIFY`` turns it off."""
    if verify is not None:
        return bool(verify)
    return os.environ.get(VERIFY_ENV, "1").strip().lower() not in _OFF


def _tensor_bytes(tensor: torch.Tensor) -> Any:
    """The tensor's bytes as a buffer hashlib reads without a copy (where it
    is already contiguous on the CPU)."""
    flat = tensor.detach().cpu().contiguous().reshape(-1)
    if flat.dtype == torch.bool:
        flat = flat.to(torch.uint8)
    return flat.view(torch.uint8).numpy() if flat.numel() else b""


def _update_tensor(digest: Any, tensor: torch.Tensor) -> None:
    digest.update(f"{tensor.dtype}\0{tuple(tensor.shape)}\0".encode())
    digest.update(_tensor_bytes(tensor))


def tensors_digest(tensors: Mapping[str, torch.Tensor]) -> str:
    """SHA-256 (hex) over named tensors in name order: what :data:`DIGEST_KEY`
    records.  Independent of file layout, so writer and reader agree."""
    digest = hashlib.sha256(b"vggzoo-tensors-v1\0")
    for name in sorted(tensors):
        digest.update(name.encode() + b"\0")
        _update_tensor(digest, tensors[name])
    return digest.hexdigest()


def contents_digest(contents: Any) -> str:
    """SHA-256 (hex) over a nested checkpoint (dicts, lists, tensors, plain
    values), in insertion order: pickling keeps both order and types."""
    digest = hashlib.sha256(b"vggzoo-checkpoint-v1\0")
    _walk(digest, contents)
    return digest.hexdigest()


def _walk(digest: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        digest.update(b"T")
        _update_tensor(digest, value)
    elif isinstance(value, Mapping):
        digest.update(f"D{len(value)}\0".encode())
        for key, item in value.items():
            _walk(digest, key)
            _walk(digest, item)
    elif isinstance(value, (list, tuple)):
        digest.update(f"L{len(value)}\0".encode())
        for item in value:
            _walk(digest, item)
    else:  # str, int, float, bool, None, torch.Size, dtype: repr round-trips exactly
        digest.update(f"V{type(value).__name__}\0{value!r}\0".encode())


def mismatch(path: Any, what: str, expected: str, found: str, fix: str) -> DamagedFileError:
    """The one-line error of a file whose content is not what it records."""
    return DamagedFileError(
        f"{path}: {what} is damaged: it records SHA-256 {expected} but its contents hash to "
        f"{found} (flipped bytes from a disk, a copy or a transfer); {fix} (or set "
        f"{VERIFY_ENV}=0 to load it unchecked)")


def check_tensors(path: Any, tensors: Mapping[str, torch.Tensor], expected: str | None, *,
                  what: str = "weights file", fix: str | None = None) -> None:
    """Raise :class:`DamagedFileError` when ``tensors`` do not hash to the
    ``expected`` digest a file recorded (nothing to check without one)."""
    if not expected:
        return
    found = tensors_digest(tensors)
    if found != expected:
        raise mismatch(path, what, expected, found,
                       fix or "restore it from a good copy or save the weights again")
