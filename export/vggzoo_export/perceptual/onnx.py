"""LPIPS-VGG as one ONNX graph: ``x``, ``y`` (N, 3, H, W) float 0-1 in,
``distance`` (N,) out; dynamic batch, height and width.

``vggzoo-export vgg16 --weights W --format lpips-onnx -o lpips.onnx`` wraps
the trunk in :class:`vggzoo.perceptual.LPIPS` (learned layers from the
installed ``lpips`` package, or ``--export-option lin_weights=FILE``),
exports it and checks ONNX Runtime's distances against torch's at two sizes
before the file is moved into place.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from ..core.artifacts import staged_artifact
from vggzoo.plugins.exporters import ExportReport
from ..errors import ExportError
from .runner import LPIPS_GRAPH, onnx_distance

INPUTS = ("x", "y")
OUTPUT = "distance"
#: Sides the parity check runs at (two, so a frozen shape would show).
CHECK_SIDES = (64, 96)
#: Largest |distance difference| to torch the exported file may have.
PARITY_TOLERANCE = 1e-4


def lpips_module(model: nn.Module, lin_weights: str | os.PathLike | None) -> nn.Module:
    """The LPIPS of a vggzoo VGG16 (0-1 inputs), in eval mode."""
    from vggzoo.perceptual import LPIPS

    return LPIPS(model, lin_weights=lin_weights, input_range="0-1").eval()


def export_lpips_onnx(model: nn.Module, output: str | os.PathLike, *,
                      lin_weights: str | None = None, opset: int = 17) -> ExportReport:
    """Export LPIPS on ``model``'s trunk, checked against torch."""
    start = time.perf_counter()
    metric = lpips_module(model, lin_weights)
    output = Path(output)
    with staged_artifact(output) as stage:
        path = stage / output.name
        write_lpips_onnx(metric, path, opset=opset)
        meta = lpips_metadata(model, "lpips-onnx", opset)
        write_metadata(path, meta)
        parity = check_parity(path, metric)
    return ExportReport(path=output, files=[output], metadata=meta, parity=parity,
                        seconds=time.perf_counter() - start,
                        notes=["inputs x, y: float 0-1 (N, 3, H, W); output distance (N,)"])


class _Graph(nn.Module):
    """LPIPS with a plain ``forward(x, y)``: the TorchScript exporter passes
    an empty keyword dict as a third positional argument to a forward with
    keyword-only parameters."""

    def __init__(self, metric: nn.Module) -> None:
        super().__init__()
        self.metric = metric

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.metric(x, y)


def lpips_metadata(model: nn.Module, format_name: str, opset: int) -> Any:
    """The file's ``vggzoo.*`` metadata: the trunk's facts, marked as an LPIPS graph."""
    from ..core.contract import GRAPH_KEY, METADATA_PREFIX
    from ..core.metadata import describe

    meta = describe(model, format=format_name, opset=opset, inputs="x,y float 0-1")
    meta.extra[GRAPH_KEY.removeprefix(METADATA_PREFIX)] = LPIPS_GRAPH
    return meta


def write_metadata(path: Path, meta: Any) -> None:
    import onnx

    proto = onnx.load(str(path))
    onnx.helper.set_model_props(proto, meta.to_props())
    onnx.save(proto, str(path))


def write_lpips_onnx(metric: nn.Module, path: Path, *, opset: int) -> None:
    example = (torch.rand(2, 3, 64, 64), torch.rand(2, 3, 64, 64))
    axes = {0: "batch", 2: "height", 3: "width"}
    try:
        with torch.no_grad():
            torch.onnx.export(_Graph(metric), example, str(path), dynamo=False, opset_version=opset,
                              input_names=list(INPUTS), output_names=[OUTPUT],
                              dynamic_axes={"x": axes, "y": axes, OUTPUT: {0: "batch"}})
    except Exception as exc:
        raise ExportError(f"torch.onnx.export of LPIPS failed: {type(exc).__name__}: {exc}") from exc


def check_parity(path: Path, metric: nn.Module) -> dict[str, float]:
    """Max |distance difference| of ONNX Runtime vs torch at :data:`CHECK_SIDES`."""
    run = onnx_distance(path)
    generator = torch.Generator().manual_seed(0)
    parity = {}
    for batch, side in zip((3, 1), CHECK_SIDES):
        x = torch.rand(batch, 3, side, side, generator=generator)
        y = (x + 0.2 * torch.randn(x.shape, generator=generator)).clamp(0, 1)
        with torch.no_grad():
            want = metric(x, y).numpy()
        got = run(x, y).numpy()
        diff = float(np.abs(want - got).max())
        if not diff <= PARITY_TOLERANCE:
            raise ExportError(f"exported LPIPS differs from torch by {diff:.3g} at {side}x{side} "
                              f"(tolerance {PARITY_TOLERANCE}); nothing was written")
        parity[f"{side}x{side}"] = diff
    return parity
