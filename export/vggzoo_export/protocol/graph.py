"""The paper's dense test protocol as one ONNX graph.

``vggzoo-export vgg16 --protocol dense --scales 256,384,512`` writes a graph
that takes raw RGB pixels and returns class posteriors, so any ONNX runtime
evaluates an image the paper's way with a single call:

    image (N, 3, H, W) uint8
      -> for each test scale Q: isotropic resize to shortest side Q
         (bilinear, antialiased), mean/std normalisation, the image and its
         horizontal flip as one batch, the fully-convolutional network, the
         spatial mean of its score map, soft-max
      -> average of the 2 x len(Q) posteriors -> ``posteriors`` (N, K)

The resize is written as two matrix products with interpolation weights
computed in the graph from the input size.  That is exactly torch's
antialiased bilinear filter (``interpolate(antialias=True)``, used by
torchvision's ``Resize``) at any scale; ONNX ``Resize(antialias=1)`` in
ONNX Runtime differs from it by several grey levels when shrinking.  The
output size follows torchvision: shortest side Q, the other
``int(Q * long / short)``.  Resizing happens in float on the decoded
uint8 pixels, exactly as ``vggzoo eval`` does (:func:`vggzoo.data.preprocess.to_input`
converts to float before resizing), so the graph's posteriors equal
``vggzoo eval --protocol dense``'s; the export checks that through the
evaluation code itself (:func:`eval_dense_posteriors`).

The network's nodes are copied once per scale with their weights shared, so
the file is as large as the network's.

This module writes and verifies the file; the parts live beside it: the ONNX
ops (:mod:`.protocol_ops`), the graph (:mod:`.protocol_builder`), the
reference it is checked against (:mod:`.protocol_reference`) and the runtime
(:mod:`.protocol_session`).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import torch

from ..core.integrity import load_onnx, seal
from ..core.artifacts import staged_artifact
from ..errors import ExportError
from ..core.contract import EXTERNAL_DATA_THRESHOLD, data_file_name
from ..core.parity import FP32_TOLERANCE
from .builder import build_protocol_graph
from .reference import eval_dense_posteriors, log_posterior_diff
from .session import ProtocolSession

__all__ = ["ProtocolReport", "export_protocol_graph"]


@dataclass
class ProtocolReport:
    path: Path
    files: list[Path]
    scales: list[int]
    parity: dict[str, float]
    seconds: float


def export_protocol_graph(network_path: str | os.PathLike, output: str | os.PathLike, *,
                          scales: Sequence[int] = (256, 384, 512), flip: bool = True,
                          check_size: tuple[int, int] = (240, 320)) -> ProtocolReport:
    """Write the dense-protocol graph of an exported network and check it
    against ``vggzoo eval``'s dense protocol on the same network
    (:func:`eval_dense_posteriors`) on a random image (``check_size``).

    The reference runs the exported network itself (ONNX Runtime), whose
    agreement with PyTorch the network export has already checked; so any
    network exports, batch-norm ones included (their normalisation is
    folded into the convolutions and has no weights of its own in the file).
    """
    import onnx

    from ..onnx.runner import OrtRunner

    start = time.perf_counter()
    output = Path(output)
    check_protocol_graph_memory(network_path, scales, check_size, flip=flip)
    network = load_onnx(network_path)
    model = seal(build_protocol_graph(network, scales, flip=flip))
    del network
    with staged_artifact(output, (data_file_name(output),)) as stage:
        external = model.ByteSize() > EXTERNAL_DATA_THRESHOLD if _fits(model) else True
        staged = stage / output.name
        onnx.save_model(model, str(staged), save_as_external_data=external,
                        all_tensors_to_one_file=True, location=data_file_name(output),
                        size_threshold=1024)
        del model
        try:
            onnx.checker.check_model(str(staged), full_check=True)
        except Exception as exc:
            raise ExportError(f"onnx.checker rejects the protocol graph: {exc}") from exc
        image = torch.randint(0, 256, (1, 3, *check_size), dtype=torch.uint8,
                              generator=torch.Generator().manual_seed(0))
        with ProtocolSession(staged) as session:
            got = session.posteriors(image)
        with OrtRunner(network_path) as runner:
            expected = eval_dense_posteriors(runner, image, scales, flip=flip)
        diff = log_posterior_diff(got, expected)
        if not diff <= FP32_TOLERANCE:
            raise ExportError(f"the protocol graph disagrees with vggzoo's dense protocol: max abs "
                              f"log-posterior difference {diff:.3g} > {FP32_TOLERANCE}; not written")
        files = [output] + ([output.parent / data_file_name(output)] if external else [])
    return ProtocolReport(output, files, list(scales), {f"{check_size[0]}x{check_size[1]}": diff},
                          time.perf_counter() - start)


def check_protocol_graph_memory(network_path: str | os.PathLike, scales: Sequence[int],
                                check_size: tuple[int, int], *, flip: bool = True) -> None:
    """Refuse, before the graph is built, test scales whose check (the
    graph and the reference each running the ``check_size`` image and its
    flip at the largest scale) would not fit in memory
    (:mod:`vggzoo.runtime.memory`)."""
    from vggzoo.eval.budget import rescaled
    from vggzoo.runtime.memory import network_shape, require_sizes_fit

    from ..core.metadata import read_onnx_metadata

    if not scales:
        return
    size = rescaled(check_size, max(scales))
    require_sizes_fit(f"the dense protocol graph's check at test scale {max(scales)}",
                      network_shape(read_onnx_metadata(network_path)), [size], 2 if flip else 1,
                      option="--scales", copies=2, by_side=False)


def _fits(model) -> bool:
    try:
        model.ByteSize()
        return True
    except Exception:  # protobuf refuses to size messages over 2 GB
        return False
