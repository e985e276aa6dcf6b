"""An exported LPIPS file as a ``distance(x, y) -> (N,)`` for
:func:`vggzoo.perceptual.lpips_pairs` (ONNX Runtime, CPU or CUDA)."""

from __future__ import annotations

import os
from collections.abc import Callable

import torch

from vggzoo.errors import WeightsError

#: What ``vggzoo.graph`` says in an exported LPIPS file (the runner checks it).
LPIPS_GRAPH = "lpips-vgg-0.1"


def onnx_distance(path: str | os.PathLike, *, threads: int | None = None
                  ) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """A distance function running an LPIPS ONNX file (fp32 or int8)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    if threads:
        options.intra_op_num_threads = threads
    try:
        session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise WeightsError(f"cannot open LPIPS file {path}: {exc}; export one with "
                           f"vggzoo-export vgg16 --weights W --format lpips-onnx") from exc
    from ..core.contract import GRAPH_KEY

    names = [i.name for i in session.get_inputs()]
    graph = session.get_modelmeta().custom_metadata_map.get(GRAPH_KEY)
    if names != ["x", "y"] or graph != LPIPS_GRAPH:
        raise WeightsError(f"{path} is not an LPIPS export (inputs {names}, expected x, y): "
                           f"export one with --format lpips-onnx")

    def distance(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        feeds = {"x": x.float().contiguous().numpy(), "y": y.float().contiguous().numpy()}
        return torch.from_numpy(session.run(None, feeds)[0]).flatten()

    return distance
