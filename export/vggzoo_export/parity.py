"""The parity check every exporter runs before it ships a file.

An export is only as good as its agreement with PyTorch at sizes it was not
traced at: frozen pooling (torchvision, timm) or a miscompiled dynamic
kernel (AOTInductor) only shows there.  So the check runs the candidate and
eager PyTorch on the same random batches at several sizes, square and not,
and raises :class:`ParityError` naming the size and the difference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

from vggzoo.errors import OptionError

from .errors import ParityError

#: Checked after every export: the traced size, a non-square size whose map
#: is not square either, and a larger square one.
DEFAULT_PARITY_SIZES: tuple[tuple[int, int], ...] = ((224, 224), (256, 320), (288, 288))
#: Max abs difference of fp32 logits, relative to their magnitude (>= 1).
FP32_TOLERANCE = 1e-4
FP16_TOLERANCE = 2e-2

LogitsFn = Callable[[torch.Tensor], torch.Tensor]


def parse_hw(text: str) -> tuple[int, int]:
    """``"384"`` -> (384, 384); ``"288x352"`` -> (288, 352)."""
    parts = text.lower().split("x")
    if len(parts) not in (1, 2) or not all(p.strip().isdigit() for p in parts):
        raise OptionError(f"bad size {text!r}: use N or HxW, e.g. 384 or 288x352")
    h = int(parts[0])
    return h, int(parts[-1])


def max_abs_diff(candidate: LogitsFn, reference: LogitsFn, size: tuple[int, int], *,
                 batch: int = 1, seed: int = 0) -> tuple[float, float]:
    """(max |candidate - reference|, max |reference|) on one random batch."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, 3, *size, generator=generator)
    expected = reference(x).float()
    got = candidate(x).float()
    if got.shape != expected.shape:
        raise ParityError(f"at {size[0]}x{size[1]} the export returns shape {tuple(got.shape)} "
                          f"but PyTorch {tuple(expected.shape)}")
    return float((got - expected).abs().max()), float(expected.abs().max())


def check_parity(candidate: LogitsFn, reference: LogitsFn, *, what: str,
                 sizes: Iterable[tuple[int, int]] = DEFAULT_PARITY_SIZES,
                 tolerance: float = FP32_TOLERANCE, batch: int = 1) -> dict[str, float]:
    """Raise :class:`ParityError` unless ``candidate`` matches ``reference``
    at every size; returns the max abs difference per size ("HxW")."""
    report: dict[str, float] = {}
    for size in sizes:
        diff, magnitude = max_abs_diff(candidate, reference, size, batch=batch)
        report[f"{size[0]}x{size[1]}"] = diff
        allowed = tolerance * max(1.0, magnitude)
        if not diff <= allowed:  # also catches NaN
            raise ParityError(
                f"{what} disagrees with PyTorch at {size[0]}x{size[1]}: max abs difference "
                f"{diff:.3g} > {allowed:.3g} (logits up to {magnitude:.3g}); the file was not "
                f"written. Report this with the model name and torch/onnx versions")
    return report
