"""The proven floor: Eckart-Young for depth-1 RACs, and students that cannot pass it."""

from __future__ import annotations

import pytest
import torch

from tnrnn.nn.floor import (
    _rac,
    all_sequences,
    clopper_pearson,
    eckart_young_floor,
    spread_teacher,
    start_end_matrix,
    train_student,
)


def test_floor_is_the_best_truncation_error():
    matrix = torch.randn(9, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    u, s, vh = torch.linalg.svd(matrix)
    for rank in (1, 3, 8):
        best = (u[:, :rank] * s[:rank]) @ vh[:rank]
        expected = float((matrix - best).pow(2).sum() / matrix.pow(2).sum())
        assert eckart_young_floor(matrix, rank) == pytest.approx(expected, rel=1e-10)
    assert eckart_young_floor(matrix, 9) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("width", [2, 3])
def test_a_depth1_rac_has_start_end_rank_at_most_its_width(width):
    with torch.no_grad():
        matrix = start_end_matrix(_rac(2, width, 1, seed=width), all_sequences(2, 8))
    sigma = torch.linalg.svdvals(matrix)
    assert int((sigma > 1e-10 * sigma[0]).sum()) <= width
    assert eckart_young_floor(matrix, width) < 1e-20
    # depth 2 at the same width exceeds it
    with torch.no_grad():
        deep = start_end_matrix(_rac(2, width, 2, seed=width), all_sequences(2, 8))
    assert eckart_young_floor(deep, width) > 1e-8


def test_a_shallow_student_stays_above_the_floor_of_a_spread_teacher():
    teacher, trace = spread_teacher(2, 3, 6, 2, steps=150, seed=1)
    assert trace[-1] > trace[0]  # spreading raised the floor
    with torch.no_grad():
        target = start_end_matrix(teacher, all_sequences(2, 6))
    floor = eckart_young_floor(target, 2)
    error, _ = train_student(target, 2, 6, 1, 2, seed=0, steps=150)
    assert error >= floor - 1e-9  # a theorem: a width-2 depth-1 RAC cannot pass it


def test_clopper_pearson_known_values():
    low, high = clopper_pearson(0, 20)
    assert low == 0.0 and high == pytest.approx(0.1684, abs=1e-4)
    low, high = clopper_pearson(10, 20)
    assert low == pytest.approx(0.2720, abs=1e-4) and high == pytest.approx(0.7280, abs=1e-4)
