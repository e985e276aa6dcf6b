"""Content digests of exported files, and the one checked reader of ONNX files.

Every ONNX file vggzoo-export writes (network, int8, protocol graph,
reduced-precision copies for TensorRT) records the XXH3-128 digest of its
initializers (name, data type, shape and bytes, in name order) in
``metadata_props`` under :data:`DIGEST_PROP` (``tensors_xxh3_128``, the key
weights files use, hashed by the same
:func:`vggzoo.weights.verify.buffers_digest`; why XXH3 and not SHA-256 is
explained there); :func:`seal` sets it just before the file is saved.
Files of earlier versions, with ``tensors_sha256``, still verify.
:func:`load_onnx` reads a file with one-line errors (missing, truncated,
damaged, another format, a missing ``.data`` companion) and, when it loads
the weights, checks them against that digest (on by default;
``VGGZOO_VERIFY=0`` skips it, see :mod:`vggzoo.weights.verify`).

Formats without room for a digest get one beside them: an AOTInductor
package ``vgg16.pt2`` has ``vgg16.pt2.sha256`` (:func:`write_file_digest`,
checked by :func:`verify_file_digest` before the package is loaded); a
TensorRT engine's sidecar records its SHA-256 (:mod:`vggzoo_export.trt.sidecar`).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from vggzoo.weights.verify import (ALGORITHM, DIGEST_KEY, DIGEST_KEYS, buffers_digest, mismatch,
                                   recorded_digest, verification_enabled)

from ..errors import DamagedArtifactError

#: ``metadata_props`` key of the initializers' digest (outside the
#: ``vggzoo.`` keys, which describe the model, not the file's bytes).
DIGEST_PROP = DIGEST_KEY


def initializers_digest(model: Any, algorithm: str = ALGORITHM) -> str:
    """Digest (hex) over the graph's initializers in name order (their
    values, wherever the file stores them: raw bytes, typed fields or
    external data already loaded)."""
    import numpy as np
    from onnx import numpy_helper

    def parts() -> Any:
        for tensor in sorted(model.graph.initializer, key=lambda t: t.name):
            values = np.ascontiguousarray(numpy_helper.to_array(tensor))
            yield (f"{tensor.name}\0{tensor.data_type}\0{tuple(tensor.dims)}\0",
                   values.reshape(-1).view(np.uint8) if values.size else b"")

    return buffers_digest(b"vggzoo-onnx-initializers-v1\0", parts(), algorithm)


def seal(model: Any) -> Any:
    """Record (or replace) the initializers' digest in ``model``'s metadata;
    call it after the last change to the initializers, before saving."""
    digest = initializers_digest(model)
    props = model.metadata_props
    for index in reversed(range(len(props))):  # any earlier digest, an older file's SHA-256 too
        if props[index].key in DIGEST_KEYS.values():
            del props[index]
    props.add(key=DIGEST_PROP, value=digest)
    return model


def _starts_like_protobuf(byte: int) -> bool:
    """A ModelProto starts with a field tag: a varint or length-delimited
    field of the model (ir_version is field 1, a varint: ``0x08``)."""
    return byte & 0x07 in (0, 2) and 1 <= byte >> 3 <= 20


def _fail(path: Path, problem: str, verdict: str) -> DamagedArtifactError:
    return DamagedArtifactError(
        f"cannot load ONNX file {path}: {problem} ({verdict}); export it again with "
        f"`vggzoo-export MODEL -o {path}` or restore it from a good copy")


def load_onnx(path: str | os.PathLike, *, external_data: bool = True,
              verify: bool | None = None) -> Any:
    """``onnx.load`` with one-line errors; with ``external_data`` (the
    weights) the initializers are checked against :data:`DIGEST_PROP`."""
    import onnx

    path = Path(path)
    if not path.is_file():
        raise DamagedArtifactError(f"ONNX file {path} does not exist; export one with "
                                   f"`vggzoo-export MODEL -o {path}`")
    with open(path, "rb") as handle:
        first = handle.read(1)
    if not first:
        raise _fail(path, "it is empty", "truncated")
    if not _starts_like_protobuf(first[0]):
        raise _fail(path, "it does not start like an ONNX model", "another format, or damaged")
    try:
        model = onnx.load(str(path), load_external_data=external_data)
    except FileNotFoundError as exc:
        missing = Path(exc.filename or "").name or f"{path.name}.data"
        raise DamagedArtifactError(f"cannot load ONNX file {path}: its weights file {missing} "
                                   f"is missing; copy it next to {path.name} or export it "
                                   f"again") from exc
    except Exception as exc:  # protobuf's DecodeError and onnx's own
        text = " ".join(str(exc).split()) or type(exc).__name__
        verdict = "truncated" if "runcated" in text else "damaged"
        raise _fail(path, f"it does not parse ({text[:160]})", verdict) from exc
    props = {p.key: p.value for p in model.metadata_props}
    expected = recorded_digest(props)
    if external_data and verification_enabled(verify) and expected is not None:
        found = initializers_digest(model, expected.algorithm)
        if found != expected.value:
            error = mismatch(path, "ONNX file", expected.value, found,
                             f"export it again with `vggzoo-export MODEL -o {path}`",
                             expected.algorithm)
            raise DamagedArtifactError(str(error))
    return model


def verify_onnx_file(path: str | os.PathLike, *, verify: bool | None = None) -> None:
    """Check an ONNX file (and its external data) before a runtime loads it."""
    if verification_enabled(verify):
        load_onnx(path, external_data=True, verify=True)


#: Suffix of the digest file beside a file whose format has no room for one
#: (AOTInductor packages): ``vgg16.pt2`` -> ``vgg16.pt2.sha256``.
DIGEST_SUFFIX = ".sha256"


def digest_path(path: str | os.PathLike) -> Path:
    path = Path(path)
    return path.with_name(path.name + DIGEST_SUFFIX)


def write_file_digest(path: str | os.PathLike) -> Path:
    """Write ``path``'s SHA-256 beside it (``sha256sum`` format)."""
    path = Path(path)
    target = digest_path(path)
    target.write_text(f"{sha256_file(path)}  {path.name}\n")
    return target


def verify_file_digest(path: str | os.PathLike, what: str, fix: str, *,
                       verify: bool | None = None) -> None:
    """Check ``path`` against the digest file beside it (none: nothing to check)."""
    path = Path(path)
    recorded = digest_path(path)
    if not verification_enabled(verify) or not recorded.is_file():
        return
    expected = recorded.read_text().split(maxsplit=1)[0] if recorded.stat().st_size else ""
    found = sha256_file(path)
    if found != expected:
        raise DamagedArtifactError(str(mismatch(path, what, expected or "(empty)", found, fix,
                                                "sha256")))


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    """SHA-256 (hex) of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()
