import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tnrnn.rac.partitions import Partition, cut, interleaved, parse_partition, start_end


def test_named_partitions():
    assert start_end(6).start == (0, 1, 2) and start_end(6).end == (3, 4, 5)
    assert cut(5, 2).end == (2, 3, 4) and cut(5, 2).prefix_length == 2
    assert interleaved(5).start == (0, 2, 4) and interleaved(5).prefix_length is None
    assert interleaved(6).boundaries == 5 and start_end(6).boundaries == 1


@given(st.integers(2, 7), st.data())
def test_matricize_entry_mapping(length, data):
    perm = data.draw(st.permutations(range(length)))
    k = data.draw(st.integers(1, length - 1))
    part = Partition(tuple(perm[:k]), tuple(perm[k:]), length)
    tensor = np.random.default_rng(0).normal(size=(2,) * length)
    mat = part.matricize(tensor)
    idx = tuple(data.draw(st.integers(0, 1)) for _ in range(length))
    row = int("".join(str(idx[i]) for i in part.start), 2)
    col = int("".join(str(idx[i]) for i in part.end), 2)
    assert mat[row, col] == tensor[idx]


@pytest.mark.parametrize("call, match", [
    (lambda: start_end(5), "needs an even length, got length=5"),
    (lambda: cut(6, 6), r"k must be an integer in \[1, 5\]"),
    (lambda: Partition((0, 1), (1, 2), 3), r"repeated \[1\]"),
    (lambda: Partition((0,), (2,), 3), r"missing \[1\]"),
    (lambda: Partition((0, 5), (1, 2), 3), r"out of range \[5\]"),
    (lambda: Partition((), (0, 1), 2), "non-empty"),
    (lambda: parse_partition("halves", 4), "unknown partition 'halves'"),
    (lambda: start_end(0), "length must be a positive integer, got 0"),
])
def test_bad_partitions(call, match):
    with pytest.raises(ValueError, match=match):
        call()
