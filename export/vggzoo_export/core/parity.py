"""The checks every exporter runs before it ships a file: parity for
full-precision outputs, agreement for reduced-precision ones.

Parity: an export is only as good as its agreement with PyTorch at sizes it
was not traced at: frozen pooling (torchvision, timm) or a miscompiled
dynamic kernel (AOTInductor) only shows there.  So :func:`check_parity` runs
the candidate and eager PyTorch on the same random batches at several
sizes, square and not, and raises :class:`ParityError` naming the size and
the difference.

Agreement: an int8 network or an fp16/bf16 engine is not expected to match
fp32 to 1e-4; what matters is whether it picks the same classes.
:func:`compare_runs` runs both on the same real images and returns one
:class:`AgreementReport` (top-1 / top-5 agreement, largest logit
difference), which int8 export and TensorRT engines both store and print;
:func:`check_agreement` refuses a file below a threshold.  A NaN or infinite
logit never counts as agreement: such images are counted in ``nonfinite``,
and a run where every image is non-finite is an error, not a result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass

import numpy as np
import torch

from vggzoo.errors import OptionError

from ..errors import AgreementError, ParityError

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
                 batch: int = 1, seed: int = 0, channels: int = 3) -> tuple[float, float]:
    """(max |candidate - reference|, max |reference|) on one random batch of
    ``channels``-channel inputs (the model's ``in_chans``)."""
    generator = torch.Generator().manual_seed(seed)
    x = torch.randn(batch, channels, *size, generator=generator)
    expected = reference(x).float()
    got = candidate(x).float()
    if got.shape != expected.shape:
        raise ParityError(f"at {size[0]}x{size[1]} the export returns shape {tuple(got.shape)} "
                          f"but PyTorch {tuple(expected.shape)}")
    return float((got - expected).abs().max()), float(expected.abs().max())


def check_parity(candidate: LogitsFn, reference: LogitsFn, *, what: str,
                 sizes: Iterable[tuple[int, int]] = DEFAULT_PARITY_SIZES,
                 tolerance: float = FP32_TOLERANCE, batch: int = 1,
                 channels: int = 3) -> dict[str, float]:
    """Raise :class:`ParityError` unless ``candidate`` matches ``reference``
    at every size (inputs of ``channels`` channels, the model's
    ``in_chans``); returns the max abs difference per size ("HxW").

    Sizes whose two forward passes (``reference`` and the candidate's
    runtime) would not fit in memory are refused before anything runs
    (:mod:`vggzoo.runtime.memory`)."""
    from vggzoo.runtime.memory import network_shape, require_sizes_fit

    sizes = list(sizes)
    require_sizes_fit(f"the parity check of {what}", network_shape(reference), sizes, batch,
                      option="--sizes", copies=2)
    report: dict[str, float] = {}
    for size in sizes:
        diff, magnitude = max_abs_diff(candidate, reference, size, batch=batch,
                                       channels=channels)
        report[f"{size[0]}x{size[1]}"] = diff
        allowed = tolerance * max(1.0, magnitude)
        if not diff <= allowed:  # also catches NaN
            raise ParityError(
                f"{what} disagrees with PyTorch at {size[0]}x{size[1]}: max abs difference "
                f"{diff:.3g} > {allowed:.3g} (logits up to {magnitude:.3g}); the file was not "
                f"written. Report this with the model name and torch/onnx versions")
    return report


@dataclass(frozen=True)
class AgreementReport:
    """How closely a reduced-precision model follows the fp32 reference on
    the same inputs: the numbers the exporter prints and stores."""

    images: int
    max_abs_diff: float
    #: Largest |logit| of the reference, to read the difference against.
    reference_scale: float
    #: Fraction of images whose top-1 class is the same.
    top1_agreement: float
    #: Fraction of images whose top-5 classes are the same set.
    top5_agreement: float
    #: Images where either run gave a NaN or infinite logit (they disagree).
    nonfinite: int = 0

    def as_dict(self) -> dict[str, float]:
        return asdict(self)

    def summary(self) -> str:
        return (f"{self.images} images: max |diff| {self.max_abs_diff:.3g} "
                f"(logits up to {self.reference_scale:.3g}), top-1 agreement "
                f"{self.top1_agreement:.0%}, top-5 agreement {self.top5_agreement:.0%}"
                + (f", {self.nonfinite} with non-finite logits" if self.nonfinite else ""))


def compare_logits(reference: np.ndarray, candidate: np.ndarray) -> AgreementReport:
    """Compare (N, K) logits of a reduced-precision run with the fp32 ones.

    Raises :class:`AgreementError` when every image gave a non-finite logit
    in one of the runs: the network is broken, and there is nothing to
    measure."""
    reference = np.asarray(reference, dtype=np.float64)
    candidate = np.asarray(candidate, dtype=np.float64)
    if reference.shape != candidate.shape or reference.ndim != 2:
        raise OptionError(f"expected two (N, K) logit arrays of one shape, got "
                          f"{reference.shape} and {candidate.shape}")
    # A NaN or infinite logit is a disagreement, never a match: argsort
    # would otherwise rank NaNs last and may "agree" by accident.
    finite = np.isfinite(reference).all(axis=1) & np.isfinite(candidate).all(axis=1)
    if not finite.any():
        raise AgreementError(f"all {reference.shape[0]} images gave non-finite logits (NaN or "
                             f"inf) in one of the two runs: the reduced-precision network is "
                             f"broken, not close; check the conversion or calibration")
    k = min(5, reference.shape[1])
    top_ref = np.argsort(-reference, axis=1)[:, :k]
    top_cand = np.argsort(-candidate, axis=1)[:, :k]
    same_top5 = np.array([set(a) == set(b) for a, b in zip(top_ref, top_cand)]) & finite
    return AgreementReport(
        images=int(reference.shape[0]),
        max_abs_diff=float(np.abs(reference[finite] - candidate[finite]).max()),
        reference_scale=float(np.abs(reference[finite]).max()),
        top1_agreement=float(np.mean((top_ref[:, 0] == top_cand[:, 0]) & finite)),
        top5_agreement=float(np.mean(same_top5)),
        nonfinite=int((~finite).sum()))


def compare_runs(reference: Callable[[np.ndarray], np.ndarray],
                 candidate: Callable[[np.ndarray], np.ndarray],
                 batches: Iterable[np.ndarray]) -> AgreementReport:
    """Run both logit functions on every batch and compare all results at once."""
    ref, cand = [], []
    for batch in batches:
        ref.append(np.asarray(reference(batch)))
        cand.append(np.asarray(candidate(batch)))
    if not ref:
        raise OptionError("compare_runs needs at least one batch")
    return compare_logits(np.concatenate(ref), np.concatenate(cand))


def check_agreement(report: AgreementReport, min_top1: float, *, what: str, images: str,
                    threshold: str = "the minimum", fix: str = "") -> None:
    """Raise :class:`AgreementError` (the file is not shipped) when fewer
    than ``min_top1`` of the images keep their top-1 class.  ``what`` names
    the network (``"int8"``), ``images`` the images (``"held-out images of
    photos/"``), ``threshold`` the option that set the minimum, ``fix`` what
    the user can do."""
    if not 0.0 <= min_top1 <= 1.0:
        raise OptionError(f"{threshold} is a fraction of images (0-1), got {min_top1}")
    if not report.top1_agreement >= min_top1:
        nonfinite = f" ({report.nonfinite} with non-finite logits)" if report.nonfinite else ""
        raise AgreementError(
            f"{what} top-1 agreement with fp32 is {report.top1_agreement:.1%} on "
            f"{report.images} {images}{nonfinite}, below {threshold} {min_top1:.1%}; nothing "
            f"was written.{' ' + fix if fix else ''}")
