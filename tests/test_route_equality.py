"""Every exact route equals the dense rank at the same weights, on every cell where dense is cheap.

The property behind every printed rank: at one draw of modular weights, the scalable,
lifted, tensor-network and automatic routes return the rank of the whole matricization
``[A]_{S,E}`` (or say that they returned only a lower bound). Cells: M, R in 2..4, depth
1..4, every even T with ``M^T <= 2**14``; every contiguous cut and a few non-contiguous
partitions. The suite draws cells with hypothesis; ``benchmarks/bench_route_equality.py``
walks all of them.
"""

from __future__ import annotations

import itertools
import json
from math import comb

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tnrnn.exact.modular import DEFAULT_PRIME, rank_mod
from tnrnn.rac.circuits import RACSpec, RACWeights
from tnrnn.rac.grid import grid_tensor
from tnrnn.rac.partitions import Partition, cut, interleaved, start_end
from tnrnn.ranks.cuts import rank_profile
from tnrnn.ranks.lifted import lifted_dimension
from tnrnn.ranks.results import BlockRank, draws_failure_bound
from tnrnn.ranks.router import generic_rank
from tnrnn.ranks.routes import resolve_method, route

CHEAP_CELLS = [(m, r, depth, length)
               for m, r, depth in itertools.product((2, 3, 4), (2, 3, 4), (1, 2, 3, 4))
               for length in range(2, 15, 2) if m**length <= 2**14]

#: Cells where the scalable route once ranked sampled blocks that fell short of the dense rank
#: (3 draws each): the default route printed e.g. 301 with a failure bound of 2.7e-5 at
#: (3, 2, 3, 12), whose rank is 304.
REGRESSION_CELLS = {(3, 2, 3, 10): 162, (3, 2, 4, 10): 162, (4, 2, 4, 8): 128, (4, 3, 3, 8): 192,
                    (4, 3, 4, 8): 192, (3, 2, 3, 12): 304, (3, 2, 4, 12): 486, (4, 2, 4, 10): 512,
                    (4, 3, 3, 10): 768, (4, 3, 4, 10): 768}


def _partitions(length: int, rng: np.random.Generator) -> list[Partition]:
    """Every contiguous cut (Start-End at T/2), interleaved, and one random balanced split."""
    found = [start_end(length) if 2 * k == length else cut(length, k) for k in range(1, length)]
    if length >= 4:
        found.append(interleaved(length))
        start = tuple(sorted(rng.choice(length, size=length // 2, replace=False).tolist()))
        found.append(Partition(start, tuple(t for t in range(length) if t not in start), length))
    return found


def check_every_route_equals_dense(templates: int, hidden: int, depth: int, length: int, seed: int,
                                   *, max_copies: int | None = 120) -> int:
    """Assert that each route gives the dense rank at every partition; return the number of checks.

    The tensor-network route contracts ``C(T + L - 1, L)`` input copies (:func:`tnrnn.rac.bounds.input_copies`):
    it is checked only up to ``max_copies`` of them (``None``: always), so that the suite stays quick.
    """
    spec = RACSpec(templates, hidden, depth)
    weights = RACWeights.random_mod_p(spec, DEFAULT_PRIME, seed=seed)
    tensor = grid_tensor(weights, length)
    checks = 0
    for partition in _partitions(length, np.random.default_rng(seed)):
        dense = rank_mod(partition.matricize(tensor), DEFAULT_PRIME)
        names = ["auto"]
        if max_copies is None or comb(length + depth - 1, depth) <= max_copies:
            names.append("tn")
        k = partition.prefix_length
        if k is not None:
            names.append("scalable")
            if lifted_dimension(hidden, depth, length - k) <= 2000:
                names.append("lifted")
        for name in names:
            chosen = resolve_method(name, spec, partition, None)
            found = BlockRank.of(route(chosen)(weights, partition))
            assert found == BlockRank(dense, True), (spec, length, partition.name, name, found, dense)
            checks += 1
    return checks


@settings(max_examples=12, deadline=None)
@given(cell=st.sampled_from(CHEAP_CELLS), seed=st.integers(0, 2**31))
def test_every_route_equals_dense_on_cheap_cells(cell, seed):
    assert check_every_route_equals_dense(*cell, seed) > 0


def test_the_cheap_cells_cover_the_grid():
    assert len(CHEAP_CELLS) == 3 * 4 * (7 + 4 + 3)  # T <= 14 at M=2, <= 8 at M=3, <= 6 at M=4
    assert {(2, 2, 4, 14), (3, 4, 4, 8), (4, 3, 1, 6), (4, 2, 4, 6)} <= set(CHEAP_CELLS)


@pytest.mark.parametrize("cell", sorted(REGRESSION_CELLS))
def test_regression_cells_give_their_true_rank(cell):
    # auto and scalable, one draw: the rank of the whole matricization at the weights, with a
    # failure bound that speaks of it; the value is the dense one (table above)
    templates, hidden, depth, length = cell
    spec = RACSpec(templates, hidden, depth)
    for method in ("auto", "scalable"):
        result = generic_rank(spec, length, method=method, draws=1, prime=DEFAULT_PRIME)
        assert result.rank == REGRESSION_CELLS[cell], (cell, method, result)
        assert result.complete and result.kind in ("certified", "interval")


@pytest.mark.parametrize("cell", [(3, 2, 3, 12), (4, 3, 3, 8)])
def test_regression_cells_profile_matches_dense_at_every_cut(cell):
    templates, hidden, depth, length = cell
    spec = RACSpec(templates, hidden, depth)
    scalable = rank_profile(spec, length, method="scalable", draws=1, prime=DEFAULT_PRIME, progress=False)
    dense = rank_profile(spec, length, method="dense", draws=1, prime=DEFAULT_PRIME, progress=False)
    assert scalable.ranks == dense.ranks
    assert all(r.complete for r in scalable.results)


@pytest.mark.parametrize("method", ["auto", "scalable"])
def test_regression_cell_through_the_command_line(method, capsys):
    from tnrnn.cli import main

    assert main(["rank", "-M", "3", "-R", "2", "-L", "3", "-T", "12", "--method", method, "--draws", "1",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["rank"], out["lower"], out["upper"], out["kind"], out["complete"]) == (304, 304, 308, "interval", True)
    # the bound speaks of the printed rank: the product over the draws' primes (a draw mod 2**31 - 1
    # is added where affordable, which depends on the machine's load)
    bound = draws_failure_bound(308, RACSpec(3, 2, 3), 12, out["primes"])
    assert out["failure_bound"] == pytest.approx(bound) and 0 < bound <= 0.031


def test_regression_cells_through_the_depth_table(capsys):
    from tnrnn.cli import main

    assert main(["depth-table", "-M", "4", "-R", "3", "--depths", "3", "4", "--lengths", "10", "--draws", "1",
                 "--json", "--no-plot"]) == 0
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [(r["depth"], r["rank"], r["kind"]) for r in rows] == [(3, 768, "certified"), (4, 768, "certified")]
