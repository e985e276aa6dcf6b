"""The files a Triton model serves: the model file plus what belongs to it."""

from __future__ import annotations

from pathlib import Path

from onnx import TensorProto

from ..core.integrity import load_onnx
from ..trt.sidecar import sidecar_path

#: The ``parameters`` key of a repository's config that holds the model's facts record.
FACTS_PARAMETER = "vggzoo_facts"


def files_to_copy(source: Path, target: Path, backend: str) -> list[tuple[Path, Path]]:
    """The model file plus what belongs to it: an engine's sidecar, an ONNX
    file's external-data files (same relative names)."""
    pairs = [(source, target)]
    if backend == "tensorrt":
        pairs.append((sidecar_path(source), sidecar_path(target)))
        return pairs
    model = load_onnx(source, external_data=False)
    locations = {entry.value for tensor in model.graph.initializer
                 if tensor.data_location == TensorProto.EXTERNAL
                 for entry in tensor.external_data if entry.key == "location"}
    pairs += [(source.parent / loc, target.parent / loc) for loc in sorted(locations)]
    return pairs


