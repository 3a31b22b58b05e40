"""One plan: the route, memory and time of a rank, decided before any work, for the router and the CLI."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tnrnn
from tnrnn.guards import SizeLimitError
from tnrnn.rac.circuits import RACSpec
from tnrnn.rac.partitions import cut, interleaved, start_end
from tnrnn.ranks.plan import plan
from tnrnn.ranks.routes import resolve_method


@settings(max_examples=25, deadline=None)
@given(templates=st.integers(2, 3), hidden=st.integers(1, 3), depth=st.integers(1, 3), length=st.integers(2, 14),
       shape=st.sampled_from(["start-end", "cut", "interleaved"]), method=st.sampled_from(["auto", "dense",
                                                                                             "scalable", "tn"]))
def test_the_plan_names_the_route_the_router_runs(templates, hidden, depth, length, shape, method):
    spec = RACSpec(templates, hidden, depth)
    if shape == "start-end" and length % 2:
        length += 1
    partition = {"start-end": lambda: start_end(length), "cut": lambda: cut(length, 1),
                 "interleaved": lambda: interleaved(length)}[shape]()
    if method == "scalable" and partition.prefix_length is None:
        method = "auto"
    found = plan(spec, length, partition, method=method, draws=1)
    assert found.fits and found.memory_bytes is not None and found.memory_bytes >= 0
    assert found.method == resolve_method(method, spec, partition, None)
    if templates**length <= 2**12:
        assert tnrnn.generic_rank(spec, length, partition, method=method, draws=1).method == found.method


@pytest.mark.parametrize("method, length", [("dense", 20), ("tn", 20), ("scalable", 40), ("lifted", 12)])
def test_a_plan_over_the_memory_limit_is_refused_with_the_routes_own_words(method, length):
    spec = RACSpec(2, 3, 2)
    found = plan(spec, length, method=method, max_bytes=10_000)
    assert not found.fits and found.memory_bytes is None and found.refusal
    with pytest.raises(SizeLimitError) as refused:
        found.check()
    with pytest.raises(SizeLimitError) as router:  # the router refuses with the same words, before any draw
        tnrnn.generic_rank(spec, length, method=method, max_bytes=10_000)
    assert str(refused.value) == str(router.value)
    assert plan(spec, length, method=method).fits  # within the default limit


def test_memory_grows_with_the_grid_for_the_dense_route():
    spec = RACSpec(2, 2, 2)
    sizes = [plan(spec, t, method="dense").memory_bytes for t in (8, 10, 12)]
    assert sizes[0] < sizes[1] < sizes[2]


def test_the_time_of_a_plan_is_checked_only_under_a_time_limit():
    spec = RACSpec(2, 2, 2)
    assert plan(spec, 8, draws=10**6).fits  # the library sets no time limit
    with tnrnn.limits(max_seconds=1.0):
        slow = plan(spec, 8, draws=10**6)
        assert not slow.fits and slow.max_seconds == 1.0
        with pytest.raises(SizeLimitError, match="--max-seconds"):
            slow.check()


def test_the_cli_refuses_through_the_plan(capsys):
    from tnrnn.cli import main

    assert main(["rank", "-M", "2", "-R", "2", "-L", "2", "-T", "8", "--draws", "100000", "--json"]) == 2
    assert "layer-steps per weight draw" in capsys.readouterr().err


@pytest.mark.parametrize("method", ["scalable", "lifted"])
def test_a_route_that_needs_a_contiguous_cut_refuses_others_in_words(method, capsys):
    from tnrnn.cli import main

    with pytest.raises(ValueError, match="needs a contiguous cut"):
        plan(RACSpec(2, 2, 2), 8, "interleaved", method=method)
    with pytest.raises(ValueError, match="needs a contiguous cut"):
        tnrnn.generic_rank(RACSpec(2, 2, 2), 8, "interleaved", method=method)
    if method == "scalable":
        assert main(["rank", "-M", "2", "-R", "2", "-L", "2", "-T", "8", "--partition", "interleaved",
                     "--method", "scalable"]) == 2
        assert "needs a contiguous cut" in capsys.readouterr().err


def test_a_refused_auto_plan_names_the_route_that_refused():
    found = plan(RACSpec(2, 2, 4), 40, max_bytes=2**24)
    assert not found.fits and found.method == "scalable" and "scalable method" in found.refusal
