"""Top-k error, with a tie rule that does not depend on class order, and
non-finite outputs counted as wrong.

Tie rule: the true class is within the top k only if fewer than k *other*
classes score at least as high as it.  A tie with the true class counts
against it, so a model that outputs equal scores for everything gets no
credit, and the result never depends on how ``topk`` orders equal values.

Non-finite rule: a row with any NaN or infinite score is wrong at every k.
Comparisons with NaN are False, so without this rule a network whose
outputs are all NaN would have no "rivals" and score 0% error.

This is the one top-k function of vggzoo: evaluation (every protocol, every
runner) and the trainer's validation both count with it.

>>> correct_at_k(torch.tensor([[0.5, 0.5, 0.0]]), torch.tensor([0]), (1, 2))
{1: 0, 2: 1}
>>> correct_at_k(torch.tensor([[float("nan"), 0.0, 0.0]]), torch.tensor([0]), (1,))
{1: 0}
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

TOP_K: tuple[int, ...] = (1, 5)


def finite_rows(scores: torch.Tensor) -> torch.Tensor:
    """Boolean (N,): rows of ``scores`` (N, K) with no NaN or infinity."""
    return torch.isfinite(scores).all(dim=1)


def correct_at_k(scores: torch.Tensor, labels: torch.Tensor,
                 ks: Sequence[int] = TOP_K) -> dict[int, int]:
    """Number of rows of ``scores`` (N, K) whose label is within the top k
    (rows with a non-finite score never are)."""
    true = scores.gather(1, labels.long()[:, None])
    # Other classes scoring >= the true class (the true class itself excluded).
    rivals = (scores >= true).sum(dim=1) - 1
    finite = finite_rows(scores)
    return {k: int(((rivals < k) & finite).sum()) for k in ks}


@dataclass
class ErrorCounts:
    """Running counts for top-k error; sums exactly across processes.

    ``nonfinite`` counts images whose scores held a NaN or infinity (each
    also counted as wrong)."""

    images: int = 0
    correct: dict[int, int] = field(default_factory=lambda: {k: 0 for k in TOP_K})
    nonfinite: int = 0

    def update(self, scores: torch.Tensor, labels: torch.Tensor) -> None:
        self.images += len(labels)
        self.nonfinite += int((~finite_rows(scores)).sum())
        for k, n in correct_at_k(scores, labels, tuple(self.correct)).items():
            self.correct[k] += n

    def error(self, k: int) -> float:
        """Top-k error in percent (as the paper reports it)."""
        if self.images == 0:
            return float("nan")
        return 100.0 * (1 - self.correct[k] / self.images)
