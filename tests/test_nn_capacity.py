"""Exact Start-End ranks of SES predictors against brute-force matrices."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import torch

from tnrnn.nn import make_task
from tnrnn.nn.capacity import agreement_function_rank, ses_class_rank, ses_overlap_rank


def brute_rank(g, m, n):
    words = list(itertools.product(range(n), repeat=m))
    matrix = np.array([[g(sum(x == y for x, y in zip(a, b))) for b in words] for a in words], dtype=float)
    return int(np.linalg.matrix_rank(matrix))


@pytest.mark.parametrize("m,n", [(1, 3), (2, 3), (3, 2), (3, 3), (4, 2), (2, 5)])
def test_ranks_equal_the_brute_force_matrix(m, n):
    assert ses_overlap_rank(m, n) == brute_rank(lambda k: k, m, n) == 1 + m * (n - 1)
    for label in (0, 1, 2):
        expected = brute_rank(lambda k, c=label: float(round(2 * k / m) == c), m, n)
        assert ses_class_rank(m, n, label) == expected
    square = [k * k for k in range(m + 1)]
    assert agreement_function_rank(square, m, n) == brute_rank(lambda k: k * k, m, n)


def test_class_rank_matches_the_task_target_matrix():
    # the task's own class-2 indicator over all pairs of words at one offset
    task = make_task("ses", 8, alphabet=3, word_length=3)
    words = torch.tensor(list(itertools.product(range(1, 4), repeat=3)))
    halves = torch.zeros(len(words), 4, dtype=torch.long)
    halves[:, :3] = words
    matrix = task.target_matrix(halves, halves, output_index=2).numpy()
    assert ses_class_rank(3, 3, 2) == int(np.linalg.matrix_rank(matrix))


def test_errors_name_the_value():
    with pytest.raises(ValueError, match="word_length must be an integer >= 1, got 0"):
        ses_overlap_rank(0)
    with pytest.raises(ValueError, match="one value for each agreement count 0..2, got 2"):
        agreement_function_rank([0, 1], 2, 3)
    with pytest.raises(ValueError, match="label must be 0, 1 or 2"):
        ses_class_rank(2, 3, 5)
