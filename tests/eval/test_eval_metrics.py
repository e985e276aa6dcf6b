"""Top-k error on hand-made scores, ties included."""

import torch

from vggzoo.eval.metrics import ErrorCounts, correct_at_k


def test_top_k_counts_on_hand_made_logits():
    scores = torch.tensor([
        [9.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],   # label 0: rank 0
        [1.0, 9.0, 8.0, 7.0, 6.0, 5.0, 4.0],   # label 6: 5 classes above -> rank 5
        [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],   # label 2: 4 classes above -> rank 4
    ])
    labels = torch.tensor([0, 6, 2])
    assert correct_at_k(scores, labels, (1, 5, 6)) == {1: 1, 5: 2, 6: 3}


def test_a_tie_with_the_true_class_counts_against_it():
    scores = torch.tensor([
        [0.5, 0.5, 0.0],     # true 0 tied with 1: not top-1, top-2
        [0.5, 0.5, 0.0],     # true 1: same, whatever the class order
        [0.2, 0.2, 0.2],     # all equal: top-3 only
        [0.1, 0.3, 0.3],     # tie between two others above the true class
    ])
    labels = torch.tensor([0, 1, 2, 0])
    assert correct_at_k(scores, labels, (1, 2, 3)) == {1: 0, 2: 2, 3: 4}
    # Order independence: permuting the classes does not change the counts.
    perm = torch.tensor([2, 0, 1])
    inverse = torch.argsort(perm)
    assert correct_at_k(scores[:, perm], inverse[labels], (1, 2, 3)) == {1: 0, 2: 2, 3: 4}


def test_error_counts_give_percent_errors_and_add_up():
    counts = ErrorCounts()
    counts.update(torch.eye(6), torch.tensor([0, 1, 2, 3, 4, 0]))
    assert counts.images == 6 and counts.correct[1] == 5
    assert abs(counts.error(1) - 100 / 6) < 1e-9
    # Last row: true class 0 ties with four others below class 5, so five
    # classes score at least as high: outside the top 5 under the tie rule.
    assert abs(counts.error(5) - 100 / 6) < 1e-9
