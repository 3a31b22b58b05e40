"""The lifted-state route at every depth equals the dense route wherever both run."""

from __future__ import annotations

import pytest

from tnrnn.exact.modular import DEFAULT_PRIME
from tnrnn.rac.circuits import RACSpec, RACWeights
from tnrnn.rac.partitions import cut, interleaved, start_end
from tnrnn.ranks.lifted import exact_rank_lifted, lifted_dimension
from tnrnn.ranks.router import generic_rank
from tnrnn.ranks.routes import _dense_exact

CASES = [  # (M, R, L, T): depths 1-4, every cut whose lifted dimension is at most 700
    (2, 2, 1, 8), (3, 3, 1, 6), (2, 2, 2, 8), (3, 2, 2, 6), (2, 3, 2, 6), (3, 3, 2, 6),
    (2, 2, 3, 8), (3, 2, 3, 6), (2, 3, 3, 6), (2, 2, 4, 8), (3, 2, 4, 6),
]


@pytest.mark.parametrize("templates, hidden, depth, length", CASES)
def test_lifted_equals_dense_at_every_cut(templates, hidden, depth, length):
    weights = RACWeights.random_mod_p(RACSpec(templates, hidden, depth), DEFAULT_PRIME, seed=3)
    checked = 0
    for k in range(1, length):
        if lifted_dimension(hidden, depth, length - k) > 700:
            continue
        partition = start_end(length) if 2 * k == length else cut(length, k)
        assert exact_rank_lifted(weights, partition) == _dense_exact(weights, partition), k
        checked += 1
    assert checked >= 2


def test_lifted_dimension_is_the_lifted_bound():
    from tnrnn.rac.bounds import lifted_upper

    for depth in (1, 2, 3, 4):
        for m in (1, 2, 3, 5):
            spec = RACSpec(3, 2, depth)
            assert lifted_dimension(2, depth, m) == lifted_upper(spec, cut(m + 4, 4))


def test_lifted_route_through_the_router():
    result = generic_rank(RACSpec(2, 2, 3), 8, method="lifted")
    assert result.rank == 16 and result.certified and result.method == "lifted"


def test_refused_before_work_with_the_predicted_size():
    weights = RACWeights.random_mod_p(RACSpec(2, 2, 4), DEFAULT_PRIME, seed=0)
    with pytest.raises(ValueError, match=r"lifted state of dimension 39,440 .* GiB, over the limit"):
        exact_rank_lifted(weights, cut(8, 1))
    with pytest.raises(ValueError, match="contiguous cut"):
        exact_rank_lifted(weights, interleaved(8))
    with pytest.raises(ValueError, match="modular"):
        exact_rank_lifted(RACWeights.gaussian(RACSpec(2, 2, 2), seed=0), start_end(4))
