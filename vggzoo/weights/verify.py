"""Content digests: what a file vggzoo writes should hash to, recorded in
the file, and checked on every load.

A flipped bit inside tensor data leaves every file format valid: safetensors
and torch's zip readers check lengths, not contents, so damaged weights load
and give different numbers with exit code 0.  vggzoo therefore records a
digest over the *tensors* (name, dtype, shape and bytes, in name order) when
it writes weights, checkpoints and exported files, and recomputes it from
the tensors it just loaded, so the check reads the bytes the load reads
anyway and does not depend on the file's layout:

* ``.safetensors``: metadata key :data:`DIGEST_KEY` (``tensors_xxh3_128``);
* checkpoints (``last.pt``/``best.pt``): the entry :data:`CHECKPOINT_DIGEST`
  (``xxh3_128``), over every other entry (model, optimizer, RNG state, ...);
* ONNX files: ``metadata_props`` key :data:`DIGEST_KEY` over the graph's
  initializers (:mod:`vggzoo_export.core.integrity`, with
  :func:`buffers_digest`, the one hashing function of all three).

Why XXH3-128 and not SHA-256: a digest stored *inside* the file it protects
detects damage (flipped bytes from a disk, a copy or a transfer; a
truncation) but cannot stop deliberate tampering whatever the algorithm,
since whoever edits the file rewrites the digest beside it.  A cryptographic
hash buys nothing there and costs about 10x (SHA-256 runs ~1 GB/s with
SHA-NI, XXH3 ~13 GB/s, memcpy speed).  XXH3-128's 128 bits make an
accidental match of damaged content impossible in practice.  Where
cryptographic strength does matter, it stays: the file hashes of named
weights recorded in the registry (torchvision-style, checked against a file
from the network) are SHA-256.  (The whole-file hashes beside exported
AOTInductor packages and in TensorRT engine sidecars stay SHA-256 too.)

Every key names its algorithm.  vggzoo writes only the XXH3-128 keys and
reads both: files that record the SHA-256 keys of earlier versions
(``tensors_sha256``, entry ``sha256``) still verify.  Files without a
recorded digest (written by other tools, e.g. a torchvision ``.pth``) load
as before.  Verification is on by default; set ``VGGZOO_VERIFY=0`` (or pass
``verify=False`` where a reader takes it) to skip it, e.g. to rescue what
is left of a damaged file.

Inside :func:`deferred_checks` (what ``vggzoo.create`` uses), a loaded
file's digest is computed in a background thread while the model is built
(xxhash releases the GIL), and the block's end waits for it and raises the
mismatch: no model built from damaged weights is handed out.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import torch
import xxhash

from ..errors import DamagedFileError

#: The algorithm vggzoo records.
ALGORITHM = "xxh3_128"
#: Every algorithm vggzoo verifies: constructor and the name errors show.
ALGORITHMS: dict[str, tuple[Callable[[bytes], Any], str]] = {
    "xxh3_128": (xxhash.xxh3_128, "XXH3-128"),
    "sha256": (hashlib.sha256, "SHA-256"),  # files written by vggzoo before XXH3
}
#: ``.safetensors`` (and ONNX ``metadata_props``) key of the tensors' digest,
#: per algorithm; the first is the one written.
DIGEST_KEYS = {"xxh3_128": "tensors_xxh3_128", "sha256": "tensors_sha256"}
DIGEST_KEY = DIGEST_KEYS[ALGORITHM]
#: Checkpoint entry holding the digest of every other entry, per algorithm.
CHECKPOINT_DIGESTS = {"xxh3_128": "xxh3_128", "sha256": "sha256"}
CHECKPOINT_DIGEST = CHECKPOINT_DIGESTS[ALGORITHM]
#: Environment variable that turns verification off (``0``, ``false``, ``no``, ``off``).
VERIFY_ENV = "VGGZOO_VERIFY"
_OFF = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Recorded:
    """A digest a file records: its algorithm and hex value."""

    algorithm: str
    value: str


def recorded_digest(entries: Mapping[str, Any], keys: Mapping[str, str] = DIGEST_KEYS
                    ) -> Recorded | None:
    """The digest ``entries`` (metadata, checkpoint contents) record under
    one of ``keys`` (algorithm -> key), the written algorithm first."""
    for algorithm, key in keys.items():
        value = entries.get(key)
        if isinstance(value, str) and value:
            return Recorded(algorithm, value)
    return None


def verification_enabled(verify: bool | None = None) -> bool:
    """``verify`` when given, else on unless ``VGGZOO_VERIFY`` turns it off."""
    if verify is not None:
        return bool(verify)
    return os.environ.get(VERIFY_ENV, "1").strip().lower() not in _OFF


def new_digest(domain: bytes, algorithm: str = ALGORITHM) -> Any:
    """A hashlib-style object of ``algorithm``, started with a domain tag."""
    return ALGORITHMS[algorithm][0](domain)


def buffers_digest(domain: bytes, parts: Iterable[tuple[str, Any]],
                   algorithm: str = ALGORITHM) -> str:
    """The digest (hex) over ``(header, buffer)`` pairs: each header (name,
    type, shape) then its bytes.  Weights and ONNX initializers both hash
    through this one function."""
    digest = new_digest(domain, algorithm)
    for header, data in parts:
        digest.update(header.encode())
        digest.update(data)
    return digest.hexdigest()


def _tensor_bytes(tensor: torch.Tensor) -> Any:
    """The tensor's bytes as a buffer the hash reads without a copy (where
    it is already contiguous on the CPU)."""
    flat = tensor.detach().cpu().contiguous().reshape(-1)
    if flat.dtype == torch.bool:
        flat = flat.to(torch.uint8)
    return flat.view(torch.uint8).numpy() if flat.numel() else b""


def _tensor_header(tensor: torch.Tensor) -> str:
    return f"{tensor.dtype}\0{tuple(tensor.shape)}\0"


def tensors_digest(tensors: Mapping[str, torch.Tensor], algorithm: str = ALGORITHM) -> str:
    """Digest (hex) over named tensors in name order: what :data:`DIGEST_KEY`
    records.  Independent of file layout, so writer and reader agree."""
    return buffers_digest(b"vggzoo-tensors-v1\0", (
        (f"{name}\0{_tensor_header(tensors[name])}", _tensor_bytes(tensors[name]))
        for name in sorted(tensors)), algorithm)


def contents_digest(contents: Any, algorithm: str = ALGORITHM) -> str:
    """Digest (hex) over a nested checkpoint (dicts, lists, tensors, plain
    values), in insertion order: pickling keeps both order and types."""
    digest = new_digest(b"vggzoo-checkpoint-v1\0", algorithm)
    _walk(digest, contents)
    return digest.hexdigest()


def _walk(digest: Any, value: Any) -> None:
    if isinstance(value, torch.Tensor):
        digest.update(b"T" + _tensor_header(value).encode())
        digest.update(_tensor_bytes(value))
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


def mismatch(path: Any, what: str, expected: str, found: str, fix: str,
             algorithm: str = ALGORITHM) -> DamagedFileError:
    """The one-line error of a file whose content is not what it records."""
    name = ALGORITHMS[algorithm][1]
    return DamagedFileError(
        f"{path}: {what} is damaged: it records {name} {expected} but its contents hash to "
        f"{found} (flipped bytes from a disk, a copy or a transfer); {fix} (or set "
        f"{VERIFY_ENV}=0 to load it unchecked)")


def check_tensors(path: Any, tensors: Mapping[str, torch.Tensor], expected: Recorded | None, *,
                  what: str = "weights file", fix: str | None = None) -> None:
    """Raise :class:`DamagedFileError` when ``tensors`` do not hash to the
    ``expected`` digest a file recorded (nothing to check without one).
    Inside :func:`deferred_checks` the check runs in the background and
    raises when the block ends."""
    if expected is None:
        return

    def check() -> None:
        found = tensors_digest(tensors, expected.algorithm)
        if found != expected.value:
            raise mismatch(path, what, expected.value, found,
                           fix or "restore it from a good copy or save the weights again",
                           expected.algorithm)

    pending = _DEFERRED.get()
    if pending is None:
        check()
    else:
        pending.append(BackgroundCheck(check))


class BackgroundCheck:
    """A check running in its own (non-daemon) thread; :meth:`wait` joins it
    and raises what it raised."""

    def __init__(self, check: Callable[[], None]) -> None:
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(check,),
                                        name="vggzoo-verify")
        self._thread.start()

    def _run(self, check: Callable[[], None]) -> None:
        try:
            check()
        except BaseException as exc:  # handed to wait(), in the caller's thread
            self._error = exc

    def wait(self) -> None:
        self._thread.join()
        if self._error is not None:
            error, self._error = self._error, None
            raise error


_DEFERRED: contextvars.ContextVar[list[BackgroundCheck] | None] = contextvars.ContextVar(
    "vggzoo_deferred_checks", default=None)


@contextlib.contextmanager
def deferred_checks() -> Iterator[None]:
    """Within the block, tensor digests of loaded files are checked in
    background threads, overlapping whatever the block does next (building
    the model).  When the block ends (normally or by an exception) every
    check is joined, and a mismatch is raised, chained to the block's own
    exception if there was one: damaged content explains any other error."""
    pending: list[BackgroundCheck] = []
    token = _DEFERRED.set(pending)
    try:
        yield
    finally:
        _DEFERRED.reset(token)
        errors = []
        for check in pending:
            try:
                check.wait()
            except BaseException as exc:
                errors.append(exc)
        if errors:
            raise errors[0]
