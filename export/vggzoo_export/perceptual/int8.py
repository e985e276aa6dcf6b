"""LPIPS as calibrated static int8 ONNX, written only if its distances
agree with fp32.

``vggzoo-export vgg16 --weights W --format lpips-int8 --export-option
calibrate=DIR -o lpips.int8.onnx``: the trunk's convolutions are quantized
(QDQ, per-channel int8 weights, uint8 activations, MinMax ranges), the five
learned 1x1 layers stay fp32.  Calibration and agreement use disjoint
images of DIR, each compared with distorted copies of itself (noise, blur)
and with another image, so the distances span LPIPS' range.  The report:
largest and mean |distance difference| and the Spearman rank correlation
over the held-out pairs; below ``min_spearman`` or above ``max_abs_diff``
nothing is written.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..core.artifacts import staged_artifact
from vggzoo.plugins.exporters import ExportReport
from ..errors import ExportError
from ..onnx.int8 import has_vnni, split_images
from .onnx import lpips_metadata, lpips_module, write_lpips_onnx, write_metadata


@dataclass(frozen=True)
class DistanceAgreement:
    """How int8 distances compare with fp32 on held-out pairs."""

    pairs: int
    max_abs_diff: float
    mean_abs_diff: float
    spearman: float

    def rows(self) -> dict[str, float]:
        return {"pairs": self.pairs, "max |Δ|": self.max_abs_diff,
                "mean |Δ|": self.mean_abs_diff, "Spearman": self.spearman}


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Spearman's rank correlation (distances are continuous: no ties)."""
    ra, rb = np.argsort(np.argsort(a)), np.argsort(np.argsort(b))
    return float(np.corrcoef(ra, rb)[0, 1])


def distorted_pairs(paths: Sequence[Path], side: int, seed: int = 0
                    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(x, y) float 0-1 batches: each image against a noisy copy, a blurred
    copy and the next image."""
    from torchvision.transforms.v2 import functional as F

    from vggzoo.data.images import read_image

    generator = torch.Generator().manual_seed(seed)
    images = [F.center_crop(F.resize(read_image(p).float() / 255, side, antialias=True), side)
              for p in paths]
    for i, image in enumerate(images):
        sigma = 0.02 + 0.15 * torch.rand(1, generator=generator).item()
        noisy = (image + sigma * torch.randn(image.shape, generator=generator)).clamp(0, 1)
        blurred = F.gaussian_blur(image, [9, 9], [0.5 + 3 * (i % 4) / 3])
        other = images[(i + 1) % len(images)]
        x = torch.stack([image, image, image])
        y = torch.stack([noisy, blurred, other])
        yield x.numpy(), y.numpy()


class _Reader:
    """onnxruntime's CalibrationDataReader over pair batches."""

    def __init__(self, paths: Sequence[Path], side: int) -> None:
        self.paths, self.side, self._it = paths, side, None

    def get_next(self) -> dict[str, np.ndarray] | None:
        if self._it is None:
            self._it = distorted_pairs(self.paths, self.side)
        batch = next(self._it, None)
        return None if batch is None else {"x": batch[0], "y": batch[1]}

    def rewind(self) -> None:
        self._it = None


def export_lpips_int8(model: nn.Module, output: str | os.PathLike, *,
                      calibrate: str | None = None, lin_weights: str | None = None,
                      side: int = 128, calibration_images: int = 8, agreement_images: int = 16,
                      max_abs_diff: float = 0.01, min_spearman: float = 0.99,
                      opset: int = 17) -> ExportReport:
    """Quantize LPIPS on ``model``'s trunk, calibrated on images of ``calibrate``."""
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static

    from .runner import onnx_distance

    if calibrate is None:
        raise ExportError("lpips-int8 needs calibration images: --export-option calibrate=DIR")
    start, output = time.perf_counter(), Path(output)
    split = split_images(calibrate, calibration_images, agreement_images)
    metric = lpips_module(model, lin_weights)
    with staged_artifact(output) as stage:
        fp32, int8 = stage / "fp32.onnx", stage / output.name
        write_lpips_onnx(metric, fp32, opset=opset)
        meta = lpips_metadata(model, "lpips-int8", opset)
        write_metadata(fp32, meta)
        try:
            quantize_static(str(fp32), str(int8), _Reader(split.calibration, side),
                            quant_format=QuantFormat.QDQ, per_channel=True,
                            reduce_range=not has_vnni(), activation_type=QuantType.QUInt8,
                            weight_type=QuantType.QInt8, op_types_to_quantize=["Conv", "MaxPool"],
                            nodes_to_exclude=_lin_nodes(fp32),
                            calibrate_method=CalibrationMethod.MinMax,
                            extra_options={"WeightSymmetric": True})
        except Exception as exc:
            raise ExportError(f"onnxruntime.quantization failed: {type(exc).__name__}: "
                              f"{exc}") from exc
        agreement = measure(onnx_distance(fp32), onnx_distance(int8), split.held_out, side)
        if agreement.max_abs_diff > max_abs_diff or agreement.spearman < min_spearman:
            raise ExportError(f"int8 LPIPS disagrees with fp32 on {agreement.pairs} held-out "
                              f"pairs (max |Δ| {agreement.max_abs_diff:.4f} > {max_abs_diff} or "
                              f"Spearman {agreement.spearman:.4f} < {min_spearman}); nothing "
                              f"written: calibrate on more images like yours")
        fp32.unlink()
        meta.extra["lpips_agreement"] = json.dumps(agreement.rows())
        write_metadata(int8, meta)
    notes = [f"int8 vs fp32 on {agreement.pairs} held-out pairs at {side}x{side}: "
             f"max |Δ| {agreement.max_abs_diff:.4f}, mean |Δ| {agreement.mean_abs_diff:.4f}, "
             f"Spearman {agreement.spearman:.4f}"]
    return ExportReport(path=output, files=[output], metadata=meta, parity={},
                        seconds=time.perf_counter() - start, notes=notes)


def measure(reference, candidate, paths: Sequence[Path], side: int) -> DistanceAgreement:
    """fp32 vs int8 distances on the distorted pairs of ``paths``."""
    want, got = [], []
    for x, y in distorted_pairs(paths, side, seed=1):
        xt, yt = torch.from_numpy(x), torch.from_numpy(y)
        want.append(reference(xt, yt).numpy())
        got.append(candidate(xt, yt).numpy())
    a, b = np.concatenate(want), np.concatenate(got)
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ExportError("int8 or fp32 LPIPS gave non-finite distances; nothing written")
    diff = np.abs(a - b)
    return DistanceAgreement(len(a), float(diff.max()), float(diff.mean()), spearman(a, b))


def _lin_nodes(path: Path) -> list[str]:
    """Names of the Conv nodes of the learned 1x1 layers (kept fp32)."""
    import onnx

    graph = onnx.load(str(path), load_external_data=False).graph
    return [n.name for n in graph.node if n.op_type == "Conv"
            and any("lins" in name for name in n.input)]
