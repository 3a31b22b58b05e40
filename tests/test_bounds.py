import math
from math import comb

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tnrnn.rac.bounds import bounds, state_degrees
from tnrnn.rac.circuits import RACSpec
from tnrnn.rac.partitions import cut, interleaved, start_end


@given(st.integers(1, 5), st.integers(0, 30))
def test_degrees_satisfy_hockey_stick(depth, m):
    # the degrees one step earlier are the suffix sums of the degrees now
    now, before = state_degrees(depth, m), state_degrees(depth, m + 1)
    for layer in range(depth):
        assert before[layer] == sum(now[layer:])


def test_closed_forms_values():
    b = bounds(RACSpec(3, 3, 2), 64)
    assert b.depth2_lower == comb(3 + 31, 32)
    assert b.lifted_upper == 3 * comb(3 + 31, 32) == 1683
    assert b.mincut_upper == 3**33
    assert b.trivial_upper == 3**32
    assert b.upper == 1683
    shallow = bounds(RACSpec(5, 4, 1), 10)
    assert shallow.shallow == 4 and shallow.lower == shallow.upper == 4
    assert bounds(RACSpec(3, 3, 3), 8).depth2_lower is None


def test_applicability():
    spec = RACSpec(2, 3, 2)
    inter = bounds(spec, 6, interleaved(6))
    assert inter.lifted_upper is None and inter.mincut_upper is None and inter.depth2_lower is None
    assert bounds(RACSpec(2, 3, 1), 6, interleaved(6)).mincut_upper == 3**5
    c = bounds(spec, 7, cut(7, 2))
    assert c.lifted_upper == 3 * comb(3 + 4, 5) and c.depth2_lower is None


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(1, 12))
def test_lower_never_exceeds_upper(m, r, depth, half):
    b = bounds(RACSpec(m, r, depth), 2 * half)
    assert 1 <= b.lower <= b.upper


def test_copies_bound_values():
    from tnrnn.rac.bounds import copies_upper, input_copies

    assert [input_copies(3, 4, t) for t in range(4)] == [10, 6, 3, 1]
    # depth 1: every input enters once, so each side contributes min(M, R) per step
    assert copies_upper(RACSpec(5, 2, 1), start_end(6)) == 2**3
    # depth 2, T = 4, start-end: the end side has n = (2, 1): C(R+1, 2) capped at M, times min(M, R)
    assert copies_upper(RACSpec(9, 3, 2), start_end(4)) == min(6 * 3, 9 * 9)


def test_partition_length_mismatch():
    with pytest.raises(ValueError, match="partition is for length 4, not length=6"):
        bounds(RACSpec(2, 2, 2), 6, start_end(4))


def _exact_closed_forms(spec, partition):
    """The closed forms by their definitions, in exact integers (slow for large sizes)."""
    from math import comb, prod

    from tnrnn.rac.bounds import input_copies, state_degrees

    k = partition.prefix_length
    m, r, depth, length = spec.templates, spec.hidden, spec.depth, partition.length
    out = {"trivial_upper": min(m ** len(partition.start), m ** len(partition.end))}
    side = [prod(min(m, comb(r + n - 1, n)) for n in (input_copies(depth, length, t) for t in steps))
            for steps in (partition.start, partition.end)]
    out["copies_upper"] = min(side)
    if k is not None:
        degrees = state_degrees(depth, length - k)
        out["lifted_upper"] = r * prod(comb(r + d - 1, d) for d in degrees[:-1])
        out["mincut_upper"] = r ** sum(degrees)
    return out


@pytest.mark.parametrize("m, r, depth, length", [(2, 2, 3, 12), (3, 2, 4, 10), (5, 3, 2, 30), (2, 5, 5, 16),
                                                  (4, 4, 3, 200), (3, 3, 2, 3000), (1, 3, 2, 40), (3, 1, 3, 40)])
def test_log_domain_bounds_equal_the_definitions(m, r, depth, length):
    import math

    from tnrnn.rac.bounds import Approx
    from tnrnn.rac.partitions import cut

    spec = RACSpec(m, r, depth)
    for partition in (cut(length, 1), cut(length, length // 2), cut(length, length - 1)):
        got = bounds(spec, length, partition)
        for name, exact in _exact_closed_forms(spec, partition).items():
            value = getattr(got, name)
            if isinstance(value, Approx):  # more than 1000 digits: the logarithm, to float precision
                assert exact.bit_length() > 3000 and math.isclose(value.log10, math.log10(exact), rel_tol=1e-9)
            else:
                assert value == exact, (name, partition.name)


def test_approx_orders_and_prints_like_the_number():
    from tnrnn.rac.bounds import Approx, bounded, format_count

    big = 7 * 10**1500
    a = Approx(math.log10(big))
    assert a > 10**1499 and a < 10**1501 and min(a, 5) == 5 and max(a, 10**2000) == 10**2000
    assert str(a) == "~7.0e+1500" == format_count(big) and bounded([big, 3]) == ["~7.0e+1500", 3]
    assert str(Approx(9.99996)) == "~1.0e+10" and str(Approx(2e12)).startswith("~10^(")
