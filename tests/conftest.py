"""Shared fixtures and independent brute-force references for the tests."""

from __future__ import annotations

import itertools
import os

import numpy as np
import pytest
from hypothesis import settings

settings.register_profile("ci", max_examples=25, deadline=None)
settings.register_profile("dev", max_examples=15, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")

# The tests' work is small: one thread each (TNRNN_THREADS overrides), the package's own policy
from tnrnn import _threads  # noqa: E402

_threads.set_threads(_threads.parse_threads(os.environ.get("TNRNN_THREADS", "1")))


def brute_force_output(weights, sequence, features=None) -> int | float:
    """y for one sequence by plain Python loops (ints mod p or floats): the reference.

    Written independently of :mod:`tnrnn.rac.circuits`: explicit index loops, the initial
    state convention spelled out (``W^H h_0 = 1``).
    """
    spec, p = weights.spec, weights.modulus
    r = spec.hidden

    def red(x):
        return x % p if p is not None else x

    def as_py(a):
        return [[int(v) if p is not None else float(v) for v in row] for row in np.atleast_2d(a)]

    w_in = [as_py(w) for w in weights.input]
    w_hid = [as_py(w) for w in weights.hidden]
    w_out = [int(v) if p is not None else float(v) for v in weights.output]
    prev = [None] * spec.depth  # h^l_{t-1}
    for t, symbol in enumerate(sequence):
        if features is None:
            below = [0] * spec.templates
            below[symbol] = 1
        else:
            below = list(features[t])
        for layer in range(spec.depth):
            fan = len(below)
            drive = [red(sum(w_in[layer][i][j] * below[j] for j in range(fan))) for i in range(r)]
            if prev[layer] is None:
                carried = [1] * r
            else:
                carried = [red(sum(w_hid[layer][i][j] * prev[layer][j] for j in range(r))) for i in range(r)]
            new = [red(carried[i] * drive[i]) for i in range(r)]
            prev[layer] = new
            below = new
    return red(sum(w_out[i] * prev[-1][i] for i in range(r)))


def brute_force_grid(weights, length):
    """The grid tensor by looping over all M^T sequences with :func:`brute_force_output`."""
    m = weights.spec.templates
    dtype = object if weights.modulus is not None else float
    out = np.empty((m,) * length, dtype=dtype)
    for seq in itertools.product(range(m), repeat=length):
        out[seq] = brute_force_output(weights, seq)
    return out


@pytest.fixture
def rng():
    return np.random.default_rng(12345)


@pytest.fixture
def one_thread():
    """Run torch on one thread: tiny models are fastest so, and do not fight other processes."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def tiny_sweep_toml(name: str) -> str:
    """A one-point SES sweep config that trains in a second (for command-line tests)."""
    return f"""\
name = "{name}"
[sweep]
task = "ses"
length = 4
cell = "rac"
depth = 1
hidden = 2
steps = 2
eval_every = 2
batch_size = 4
val_size = 8
"""
