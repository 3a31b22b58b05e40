"""Exact separation ranks at contiguous cuts, at lengths where the grid tensor cannot exist.

The grid tensor has ``M^T`` entries; this module never builds it. It ranks, exactly mod
p, an N x N **submatrix** of the matricization ``[A]`` at a cut after k steps (suffix
length m = T - k): N actual rows (one-hot prefixes) and N actual columns (one-hot
suffixes), all of them when there are at most N, else N distinct ones drawn at random;
a sampled block that falls short of N is grown around its pivot rows and columns.
The rank of any submatrix is at most the rank of ``[A]`` at the weights, which is at most
the generic rank: the result is always a **certified lower bound**, and it is proven
equal to the generic rank when it meets a closed-form upper bound (it does, at every
cut, for depth 2 with M >= R). N is the best closed-form upper bound at the cut, so the
block is as large as the answer can be.

Only one-hot inputs are used on purpose: for depth >= 2 the RAC is *not* multilinear in
its input vectors (``h^1_t`` feeds layer 2 at every later step, so ``x_t`` enters with
degree up to ``T - t + 1``), and feeding random input vectors does not give combinations
of rows of ``[A]``.

Depth 2 computes the block as a product through the state at the cut::

    K = Phi Psi^T            y(p . s) = < phi(p), psi(s) >

* ``phi(p) = Sym^m(h^1_k) (x) h^2_k``: the monomials of degree m of ``h^1_k`` times
  ``h^2_k``, of dimension ``D = R * C(R + m - 1, m)`` (the lifted upper bound);
* ``psi(s)``: the coefficients of the suffix's polynomial in the state at the cut, from
  the backward recursion ``v_{j-1}(a) = W^{H,2 T} (v_j(a) * (W^{I,2} A_j a))`` with
  ``h^1_{k+j} = A_j a`` linear in ``a = h^1_k``;
* the suffixes are (every front of one step) x (backs), so ``psi`` is needed for the
  backs only: ``K[p, (f, b)] = < phi(p . f), psi(b) >`` at the cut one step later;
* exact matrix products as float64 BLAS (two 12-bit limbs below 2**23, three 16-bit
  limbs above), then one exact rank (:func:`tnrnn.exact.modular.rank_mod`: float64 BLAS below
  2**23, python-flint above).

Other depths evaluate the block ``K[i, j] = y(prefix_i . suffix_j)`` from the prefix states
at the cut, growing every tail of the suffixes as a tree (cost about ``2 N^2 L R^2``): there
the rank is capped by ``M^k`` and ``M^m``, so N stays small where the lifted space explodes
(:mod:`tnrnn.ranks.lifted` is the product route at any depth, and why it is not used here).

:func:`tnrnn.ranks.cuts.rank_profile` ranks every cut k = 1..T-1 in one call with this
engine, sharing the weights and the monomial tables across cuts.
"""

from __future__ import annotations

import dataclasses
import itertools
import sys
from dataclasses import dataclass
from functools import cache
from math import comb

import numpy as np

from tnrnn.exact.elimination import balanced, matmul_balanced, reduce_balanced
from tnrnn.exact.modular import (
    DEFAULT_PRIME,
    FAST_PRIME_LIMIT,
    Limbs,
    echelon_mod,
    left_null_space,
    matmul_mod,
    matmul_mod_blas,
    rank_mod,
)
from tnrnn.guards import RAISE_MEMORY, SizeLimitError, memory_limit
from tnrnn.rac.bounds import bounds as closed_forms
from tnrnn.rac.bounds import state_degrees
from tnrnn.rac.circuits import RACSpec, RACWeights
from tnrnn.rac.partitions import Partition, cut, start_end
from tnrnn.ranks.results import BlockRank

__all__ = [
    "exact_rank_scalable",
    "capped_lower_bound",
    "scalable_plan",
    "ScalablePlan",
]

#: Bytes of working memory per matrix entry while converting to flint (Python ints,
#: the list, the fmpz and nmod copies).
_CONVERSION_BYTES_PER_ENTRY = 56
#: Bytes per entry of an N x N block on the BLAS route (primes below 2**23), beside the
#: block itself (8). Every prefix and suffix used (nothing to grow): the block is the work space (1 for the
#: panel temporaries). Sampled: the elimination's copy, then for a round of growth the kept
#: core, the new rows and columns and a candidate 9/8 N wide ranked in place (15). Peak
#: resident memory less the 0.2 GiB of loaded libraries, measured: 2.19 GiB at depth 4,
#: M=R=2, T=28 (predicted 2.32) and 3.68 GiB at depth 3, T=46 (predicted 3.86).
_BLAS_BYTES_PER_ENTRY = {True: 1, False: 15}
#: The complete block (every suffix) is used while it is predicted to take at most this long,
#: from the rates below (every prefix and suffix is used regardless where the sampled block
#: would hold them all anyway); beyond, a sampled block gives a lower bound.
_COMPLETE_MAX_SECONDS = 120.0
#: Exact multiply-adds per second of the BLAS elimination, one thread (measured: the plan of M=R=2,
#: L=3, T=30 predicted 26 s at 1e10 where the route took 13.7 s of CPU).
_FLOPS_PER_SECOND = 2e10
#: Tail-tree nodes (one state of one layer) per second of the direct route, one thread.
_NODES_PER_SECOND = 4e7
#: ... and while the suffix has at most this many steps.
_COMPLETE_MAX_SUFFIX_LENGTH = 64
#: Every suffix is streamed (when the closure certificate fails) only up to this many suffixes.
_STREAM_MAX_SUFFIXES = 2**20
#: The closure certificate gives up when its basis of combinations exceeds this size.
_CLOSURE_MAX = 512
#: Random prefixes drawn beyond the lifted dimension D when searching a basis of the rows.
_BASIS_SLACK = 64
#: Bytes per entry of the basis search (the lifted states, int64, and their float64 copy).
_BASIS_BYTES_PER_ENTRY = 16
#: Working-memory budget of one chunk of the direct evaluation route.
_CHUNK_BYTES = 64 * 2**20
#: A sampled block short of the bound grows by ``upper / _GROWTH_FRACTION`` rows and columns
#: a round (at least ``_GROWTH_MIN``), for at most ``_GROWTH_ROUNDS`` rounds.
_GROWTH_FRACTION = 8
_GROWTH_MIN = 32
_GROWTH_ROUNDS = 4
#: The direct route's sampled columns are at least this many random fronts times every tail:
#: with 2 fronts (the longest tails) a block of M=R=2, L=3, T=28 reached rank 2050 of 3172.
_MIN_FRONTS = 32


# --- exact arithmetic helpers -------------------------------------------------------------


def _left(matrix: np.ndarray, stack: np.ndarray, p: int) -> np.ndarray:
    """``matrix @ stack`` mod p over the second-to-last axis of ``stack``.

    ``matrix`` is (a, b) and ``stack`` (..., b, c), entries in [0, p): each product is
    reduced before summing, so nothing overflows int64 for b < 2**32.
    """
    out = np.zeros(stack.shape[:-2] + (matrix.shape[0], stack.shape[-1]), dtype=np.int64)
    delay = matrix.shape[1] * (p - 1) ** 2 < 2**63  # the whole sum fits: reduce once
    for i in range(matrix.shape[1]):
        term = matrix[:, i, None] * stack[..., i, None, :]
        out += term if delay else term % p
    out %= p
    return out


def _linear(rows: np.ndarray, matrix: np.ndarray, p: int) -> np.ndarray:
    """``rows @ matrix.T`` mod p for rows (n, b) and matrix (a, b)."""
    if matrix.shape[1] * (p - 1) ** 2 < 2**63:  # the whole sum fits in int64: reduce once
        out = rows[:, 0, None] * matrix[None, :, 0]
        for i in range(1, matrix.shape[1]):
            out += rows[:, i, None] * matrix[None, :, i]
        out %= p
        return out
    out = np.zeros((rows.shape[0], matrix.shape[0]), dtype=np.int64)
    for i in range(matrix.shape[1]):
        out += rows[:, i, None] * matrix[None, :, i] % p
    out %= p
    return out




# --- monomials --------------------------------------------------------------------------


@cache
def _monomials(variables: int, degree: int) -> dict[tuple[int, ...], int]:
    """Exponent vectors of the monomials of ``degree`` in ``variables`` variables -> index."""
    return {
        tuple(combo.count(v) for v in range(variables)): index
        for index, combo in enumerate(itertools.combinations_with_replacement(range(variables), degree))
    }


@cache
def _times_variable(variables: int, degree: int) -> np.ndarray:
    """``maps[i, a]``: index in degree+1 of (monomial a of ``degree``) times x_i."""
    target = _monomials(variables, degree + 1)
    source = _monomials(variables, degree)
    maps = np.empty((variables, len(source)), dtype=np.intp)
    for exponents, index in source.items():
        for i in range(variables):
            bumped = list(exponents)
            bumped[i] += 1
            maps[i, index] = target[tuple(bumped)]
    maps.setflags(write=False)
    return maps


@cache
def _divided_by_variable(variables: int, degree: int) -> np.ndarray:
    """``sources[i, b]``: index in ``degree`` of (monomial b of degree+1) / x_i, or ``-1``.

    ``-1`` (x_i does not divide b) points at an all-zero sentinel row placed last.
    """
    maps = _times_variable(variables, degree)
    sources = np.full((variables, len(_monomials(variables, degree + 1))), -1, dtype=np.intp)
    for i in range(variables):
        sources[i, maps[i]] = np.arange(maps.shape[1])
    sources.setflags(write=False)
    return sources


@cache
def _exponents(variables: int, degree: int) -> np.ndarray:
    """Exponent vectors (C, R) of the monomials of ``degree``, in index order."""
    table = np.array(list(_monomials(variables, degree)), dtype=np.intp).reshape(-1, variables)
    table.setflags(write=False)
    return table


def _monomial_values(points: np.ndarray, degree: int, p: int) -> np.ndarray:
    """All monomials of ``degree`` evaluated at each row of ``points`` (n, R), mod p: (n, C).

    Notes
    -----
    Powers ``a_i^e`` for e <= degree, then one gather and product per variable: O(n C R).
    """
    n, variables = points.shape
    exponents = _exponents(variables, degree)
    powers = np.empty((variables, degree + 1, n), dtype=np.int64)
    powers[:, 0] = 1
    for e in range(1, degree + 1):
        np.multiply(powers[:, e - 1], points.T, out=powers[:, e])
        powers[:, e] %= p
    values = powers[0][exponents[:, 0]]  # layout (monomial, point): row gathers
    for i in range(1, variables):
        values *= powers[i][exponents[:, i]]
        values %= p
    return np.ascontiguousarray(values.T)


# --- the RAC from a state at the cut ------------------------------------------------------


def _run(weights: RACWeights, features: np.ndarray, states: list | None = None,
         keep: bool = False) -> list[np.ndarray] | list[list[np.ndarray]]:
    """Run the RAC mod p over feature vectors (batch, t, M) from ``states`` (None: t = 0).

    Returns the final states per layer, or with ``keep`` the states after every step.
    """
    p, depth = weights.modulus, weights.spec.depth
    states = [None] * depth if states is None else list(states)
    history = []
    for t in range(features.shape[1]):
        below = _linear(features[:, t, :], weights.input[0], p)
        for layer in range(depth):
            if layer > 0:
                below = _linear(below, weights.input[layer], p)
            if states[layer] is not None:
                below = _linear(states[layer], weights.hidden[layer], p) * below % p
            states[layer] = below
        if keep:
            history.append(list(states))
    return history if keep else states


def _suffix_coefficients(weights: RACWeights, features: np.ndarray) -> np.ndarray:
    """Depth 2: coefficients ``psi(s)`` of each suffix's polynomial in the state at the cut.

    ``features`` is (n, m, M). Returns (n, C * R) with C = C(R+m-1, m): entry
    ``alpha * R + s`` is the coefficient of ``(h^1_k)^alpha * h^2_k[s]``.

    Notes
    -----
    Backward recursion ``v_{j-1}(a) = W^{H,2 T} (v_j(a) * l_j(a))`` on R polynomials of
    degree 0, 1, ..., m in R variables, with ``l_j`` the linear forms ``W^{I,2} A_j``.
    Cost O(n R^2 C(R + m, m)).
    """
    p = weights.modulus
    w_in1, w_in2 = weights.input
    w_hid1, w_hid2 = weights.hidden
    n, m, _ = features.shape
    r = weights.spec.hidden
    drive = _linear(features.reshape(n * m, -1), w_in1, p).reshape(n, m, r)
    transfer = np.broadcast_to(np.eye(r, dtype=np.int64), (n, r, r))
    forms = []  # forms[j][i]: (r * n,) coefficients of a_i in the linear forms W^{I,2} h^1_{k+j+1}
    for j in range(m):
        transfer = _left(w_hid1, transfer, p) * drive[:, j, :, None] % p
        forms.append(np.ascontiguousarray(_left(w_in2, transfer, p).transpose(2, 1, 0).reshape(r, r * n)))
    # layout (monomial, channel, suffix): multiplying by a variable is a row gather and
    # mixing channels a sum of scalar multiples of contiguous slabs
    # padded[:-1]: the coefficients of v_j, padded[-1]: zeros (for monomials x_i does not divide)
    padded = np.zeros((2, r * n), dtype=np.int64)
    padded[0] = np.repeat(weights.output, n)
    for j in reversed(range(m)):
        degree = m - 1 - j
        sources = _divided_by_variable(r, degree)
        size, below = sources.shape[1], comb(r + degree - 1, degree)
        lifted = np.empty((size, r * n), dtype=np.int64)
        # in lexicographic order the multiples of x_0 come first, in the order of v_j
        np.multiply(padded[:below], forms[j][0], out=lifted[:below])
        lifted[:below] %= p
        lifted[below:] = 0
        term = np.empty_like(lifted)
        for i in range(1, r):
            np.take(padded, sources[i], axis=0, out=term)
            term *= forms[j][i]
            term %= p
            lifted += term
        lifted %= p
        # v_{j-1}[s] = sum_c W^{H,2}[c, s] u[c], written into the next padded buffer
        lifted3 = lifted.reshape(size, r, n)
        padded = np.zeros((size + 1, r * n), dtype=np.int64)
        out = padded[:size].reshape(size, r, n)
        slab = term.reshape(size, r, n)[:, 0, :]
        for out_channel in range(r):
            for channel in range(r):
                np.multiply(lifted3[:, channel, :], int(w_hid2[channel, out_channel]), out=slab)
                slab %= p
                out[:, out_channel, :] += slab
        out %= p
        del term, slab, lifted, lifted3, out
        forms[j] = None
    coeffs = padded[:-1]
    return np.ascontiguousarray(coeffs.reshape(-1, r, n).transpose(2, 0, 1)).reshape(n, -1)


def _lifted_states(h1: np.ndarray, h2: np.ndarray, degree: int, p: int) -> np.ndarray:
    """Depth 2: ``phi = Sym^degree(h^1_k) (x) h^2_k`` per row, ordered as :func:`_suffix_coefficients`."""
    lifted = _monomial_values(h1, degree, p)[:, :, None] * h2[:, None, :]
    lifted %= p
    return lifted.reshape(h1.shape[0], -1)


def _lift(states: list[np.ndarray], degrees: tuple[int, ...], p: int) -> np.ndarray:
    """``phi`` of each row: the Kronecker product over layers of the monomials of degree d_l."""
    lifted = np.ones((states[0].shape[0], 1), dtype=np.int64)
    for state, degree in zip(states, degrees):
        values = _monomial_values(state, degree, p)
        lifted = (lifted[:, :, None] * values[:, None, :] % p).reshape(lifted.shape[0], -1)
    return lifted


def _lifted_combination(states: list[np.ndarray], degrees: tuple[int, ...], coeffs: np.ndarray,
                        p: int) -> np.ndarray:
    """``sum_i coeffs[i] phi(state_i)`` mod p without forming ``phi`` (a :func:`_lift` row per state).

    The first layer's monomials, scaled by the coefficients, times the row-wise Kronecker
    product of the other layers' monomials: one exact matrix product of inner size n.
    """
    values = [_monomial_values(state, degree, p) for state, degree in zip(states, degrees)]
    rest = np.ones((len(coeffs), 1), dtype=np.int64)
    for value in values[1:]:
        rest = (rest[:, :, None] * value[:, None, :] % p).reshape(len(coeffs), -1)
    scaled = values[0] * np.asarray(coeffs, dtype=np.int64)[:, None] % p
    if p < FAST_PRIME_LIMIT:
        product = matmul_balanced(balanced(np.ascontiguousarray(scaled.T), p), balanced(rest, p), p).numpy()
        return np.mod(product, p).astype(np.int64).reshape(-1)
    return matmul_mod(np.ascontiguousarray(scaled.T), rest, p).reshape(-1)


# --- the plan of one cut -------------------------------------------------------------------


@dataclass(frozen=True)
class ScalablePlan:
    """What the scalable method will do at one cut, and what it costs, before doing it.

    Attributes
    ----------
    prefix_length, suffix_length : int
        k and m = T - k.
    upper : int
        The best closed-form upper bound at this cut: the size the block needs.
    rows, cols : int
        One-hot prefixes and suffixes used: ``min(upper, M^k)`` and ``min(upper, M^m)``.
    all_rows, all_cols : bool
        Whether every prefix (suffix) is used, rather than distinct random ones.
    lifted_dimension : int or None
        D for depth 2, else ``None``.
    route : str
        ``lifted`` (depth 2: ``K = Phi Psi^T``) or ``direct`` (other depths).
    predicted_bytes : int
        Predicted peak working memory.
    """

    prefix_length: int
    suffix_length: int
    upper: int
    rows: int
    cols: int
    all_rows: bool
    all_cols: bool
    lifted_dimension: int | None
    route: str
    predicted_bytes: int
    basis_rows: bool = False
    candidates: int = 0
    certify: bool = False

    @property
    def complete(self) -> bool:
        """Whether the plan aims at the rank of the whole matricization at the weights.

        True for rows that span the row space (every prefix, or a basis of them checked
        through the lifted state) against every suffix, or against sampled suffixes whose
        span the closure certificate checks (``certify``). A sampled block is only a lower
        bound, unless its rank meets the closed-form upper bound.
        """
        return (self.all_rows or self.basis_rows) and (self.all_cols or self.certify)


def _partition_at(length: int, k: int) -> Partition:
    """The cut after k steps; the Start-End partition itself at k = T/2 (so paper bounds apply)."""
    return start_end(length) if 2 * k == length else cut(length, k)


def _lifted_size(hidden: int, depth: int, suffix_length: int) -> int:
    """``D = prod_l C(R + d_l - 1, d_l)``: the dimension of the lifted state m steps before the end."""
    value = 1
    for degree in state_degrees(depth, suffix_length):
        value *= comb(hidden + degree - 1, degree)
    return value


def scalable_plan(spec: RACSpec, length: int, prefix_length: int,
                  max_bytes: int | None = None, *, prime: int = DEFAULT_PRIME,
                  complete: bool | None = None) -> ScalablePlan:
    """Sizes and route of the scalable method at the cut after ``prefix_length`` steps.

    Two kinds of block, chosen before any work:

    * **complete**: rows that span the row space (every prefix, or a *basis*: D prefixes
      whose lifted states are checked to span the lifted space, D the lifted dimension)
      against every suffix where they are few, else against a sample of D + 64 suffixes
      whose span a closure certificate checks. Its rank is the rank of the whole
      matricization at the weights. Chosen while it fits in ``max_bytes`` and is predicted
      to take at most :data:`_COMPLETE_MAX_SECONDS` (or where every prefix and suffix is
      used anyway).
    * **sampled**: ``N = min(upper, M^k)`` prefixes by ``min(upper, M^m)`` suffixes,
      distinct random ones where there are more. Its rank is a lower bound; it is the
      generic rank only when it meets the closed-form upper bound.

    Parameters
    ----------
    spec : RACSpec
    length : int
        T.
    prefix_length : int
        k, in 1..T-1.
    max_bytes : int, optional
        Memory limit; default :func:`tnrnn.guards.memory_limit`.
    prime : int
        The modulus the ranks will use: below 2**23 the block is ranked on BLAS in
        place or with one copy, above it the conversion to python-flint costs more.
    complete : bool, optional
        Force the complete (``True``) or the sampled (``False``) block; default: complete
        where affordable.

    Returns
    -------
    ScalablePlan

    Raises
    ------
    ValueError
        If the cut is invalid, or the predicted working memory (which grows with the
        block size: the answer can be that large) exceeds ``max_bytes``.

    Examples
    --------
    >>> plan = scalable_plan(RACSpec(3, 3, 2), 64, 32)
    >>> plan.upper, plan.lifted_dimension, plan.route, plan.complete
    (1683, 1683, 'lifted', True)
    >>> plan = scalable_plan(RACSpec(2, 2, 3), 26, 13)
    >>> plan.rows, plan.cols, plan.basis_rows, plan.all_cols, plan.complete
    (2576, 2640, True, False, True)
    """
    partition = _partition_at(length, prefix_length)
    k, m = prefix_length, length - prefix_length
    mt, r = spec.templates, spec.hidden
    upper = closed_forms(spec, length, partition).upper
    limit = memory_limit(max_bytes)
    fast = prime < FAST_PRIME_LIMIT
    lifted = r * comb(r + m - 1, m) if spec.depth == 2 else None
    route = "lifted" if spec.depth == 2 else "direct"
    if complete is not False:
        found = _complete_plan(spec, k, m, upper, limit, fast, route, lifted, force=complete is True)
        if found is not None:
            return found
    rows, cols = min(upper, mt**k), min(upper, mt**m)
    need = _block_bytes(spec, k, m, rows, cols, rows == mt**k and cols == mt**m, fast, route, lifted)
    if need > limit:
        from tnrnn.guards import format_gib, format_size

        size = f"{format_size(rows)} x {format_size(cols)} basis block" + (
            f" over a lifted space of dimension {format_size(lifted)}" if lifted is not None else "")
        raise SizeLimitError(
            f"the scalable method at cut k={k} for M={mt}, R={r}, L={spec.depth}, T={length} needs "
            f"a {size} (the generic rank can be as large as {format_size(upper)}): about {format_gib(need)} "
            f"of working memory, over the limit of {format_gib(limit)} ({RAISE_MEMORY}); "
            f"use a shorter length or a smaller architecture, or raise the limit"
        )
    return ScalablePlan(k, m, upper, rows, cols, rows == mt**k, cols == mt**m, lifted, route, need)


def _block_bytes(spec: RACSpec, k: int, m: int, rows: int, cols: int, whole: bool, fast: bool,
                 route: str, lifted: int | None) -> int:
    """Predicted peak working memory of a ``rows x cols`` block and its exact rank."""
    r = spec.hidden
    inputs = 8 * (rows * k + cols * m) * spec.templates
    if route == "lifted":
        # suffix recursion (about 4 arrays of cols x D), phi and the limbs or balanced
        # copies of each factor, the block and its products (its rank: per_entry below)
        need = 8 * (5 * cols * lifted + 5 * rows * lifted + 6 * rows * cols + 4 * m * cols * r * r)
    else:
        need = 8 * rows * cols + _CHUNK_BYTES
    per_entry = _BLAS_BYTES_PER_ENTRY[whole] if fast else _CONVERSION_BYTES_PER_ENTRY
    return need + per_entry * rows * cols + inputs


def _complete_plan(spec: RACSpec, k: int, m: int, upper: int, limit: int, fast: bool, route: str,
                   lifted: int | None, *, force: bool) -> ScalablePlan | None:
    """The plan of a complete block: rows that span (every prefix, or a checked basis), columns certified.

    Columns are every suffix where they are few (at most the rows plus :data:`_BASIS_SLACK`),
    else a sample of that many whose span the closure certificate checks
    (:meth:`_CutRanker._vanishes`). ``None`` when the block would not fit in ``limit`` or is
    predicted to take longer than :data:`_COMPLETE_MAX_SECONDS` (unless ``force``, or unless the
    sampled block would hold every prefix and suffix anyway).
    """
    mt = spec.templates
    if m > _COMPLETE_MAX_SUFFIX_LENGTH:  # the lifted dimension would be astronomically large anyway
        return None
    suffixes, prefixes = mt**m, mt**k
    dim = _lifted_size(spec.hidden, spec.depth, m)
    basis = prefixes > dim + _BASIS_SLACK
    rows = dim if basis else prefixes
    candidates = min(prefixes, dim + _BASIS_SLACK) if basis else 0
    cols = suffixes if suffixes <= rows + _BASIS_SLACK else rows + _BASIS_SLACK
    need = _block_bytes(spec, k, m, rows, cols, cols == suffixes and not basis, fast, route, lifted)
    need += _BASIS_BYTES_PER_ENTRY * candidates * dim + 24 * rows * rows  # the basis search; N's solve
    flops = 3 * rows * cols * min(rows, cols) + candidates * dim * dim
    nodes = 2 * rows * cols * spec.depth if route == "direct" else 0  # the tail trees: two nodes per leaf
    seconds = flops / _FLOPS_PER_SECOND + nodes / _NODES_PER_SECOND
    whole_anyway = upper >= prefixes and upper >= suffixes
    if need > limit or not (seconds <= _COMPLETE_MAX_SECONDS or force or whole_anyway):
        return None
    return ScalablePlan(k, m, upper, rows, cols, not basis, cols == suffixes, lifted, route, need,
                        basis_rows=basis, candidates=candidates, certify=True)


# --- the method -------------------------------------------------------------------------------


def _one_hot_sequences(templates: int, length: int) -> np.ndarray:
    """All ``templates**length`` one-hot sequences, shape (M^length, length, M)."""
    index = np.array(list(itertools.product(range(templates), repeat=length)), dtype=np.intp)
    return np.eye(templates, dtype=np.int64)[index.reshape(templates**length, length)]


def _distinct_random_sequences(rng: np.random.Generator, count: int, templates: int,
                               length: int, exclude: set[bytes] | None = None) -> np.ndarray:
    """``count`` distinct uniformly random one-hot sequences, none in ``exclude`` (updated).

    At most the ``M^length - len(exclude)`` sequences that remain are returned.
    """
    exclude = set() if exclude is None else exclude
    count = min(count, templates**length - len(exclude))
    chosen: dict[bytes, np.ndarray] = {}
    while len(chosen) < count:
        for row in rng.integers(0, templates, size=(count, length), dtype=np.int64):
            key = row.tobytes()
            if key not in exclude:
                chosen.setdefault(key, row)
            if len(chosen) == count:
                break
    exclude.update(chosen)
    index = np.array(list(chosen.values()), dtype=np.intp).reshape(len(chosen), length)
    return np.eye(templates, dtype=np.int64)[index]


def _front_length(plan: ScalablePlan, templates: int) -> int:
    """Steps of the suffix enumerated as fronts: up to 4 fronts for blocks of 64 columns or more.

    Measured on M=R=3, T=64 and M=R=4, T=32: one front step (M fronts) minimises the total,
    balancing the backs' coefficients (fewer backs) against one product per front.
    """
    if plan.cols < 64:
        return 0
    front = 0
    while front + 1 < plan.suffix_length and templates ** (front + 1) <= 4:
        front += 1
    return front


class _CutRanker:
    """Exact ranks of sampled blocks of ``[A]`` at contiguous cuts, for one set of modular weights.

    The samples of prefixes and suffixes depend on ``seed`` only, never on the weights,
    so that the Schwartz-Zippel argument over the weights applies to the sampled block.
    """

    def __init__(self, weights: RACWeights, *, seed: int = 0, max_bytes: int | None = None,
                 progress: bool | None = None) -> None:
        if not isinstance(weights, RACWeights) or not weights.exact:
            raise ValueError("the scalable method needs modular (exact) weights: use "
                             "RACWeights.random_mod_p(spec, prime) or generic_rank(...)")
        self.weights, self.spec, self.p = weights, weights.spec, weights.modulus
        self.seed, self.max_bytes, self.progress = int(seed), max_bytes, progress
        self.plans: dict[int, ScalablePlan] = {}
        self._used: dict[tuple[str, int], set[bytes]] = {}  # sequences drawn at the current cut

    def _inputs(self, count: int, steps: int, every: bool, tag: int, used: set | None = None) -> np.ndarray:
        """``count`` one-hot input sequences of ``steps`` steps: all of them, or distinct random ones.

        With ``used`` (a set of drawn sequences, updated) the new ones avoid those already drawn.
        """
        if used is None and (every or count >= self.spec.templates**steps):
            return _one_hot_sequences(self.spec.templates, steps)
        rng = np.random.default_rng([self.seed % 2**63, tag, steps])
        return _distinct_random_sequences(rng, count, self.spec.templates, steps, used)

    def rank(self, length: int, prefix_length: int) -> BlockRank:
        """The exact rank mod p of a block of ``[A]`` at the cut after ``prefix_length`` steps.

        A complete plan (:func:`scalable_plan`) returns the rank of the whole matricization at
        the weights (``complete=True``, see :meth:`_complete_rank`). Otherwise, or when its
        checks fail, a sampled block is ranked: ``complete`` only when its rank meets the
        closed-form upper bound, else it is a lower bound.
        """
        plan = scalable_plan(self.spec, length, prefix_length, self.max_bytes, prime=self.p)
        self._used = {}
        if plan.complete:
            self.plans[plan.prefix_length] = plan
            value = self._complete_rank(plan)
            if value is not None:
                return BlockRank(value, True)
            self._used = {}
            plan = scalable_plan(self.spec, length, prefix_length, self.max_bytes, prime=self.p,
                                 complete=False)
        self.plans[plan.prefix_length] = plan
        value = self._sampled_rank(plan)
        return BlockRank(value, value >= plan.upper or (plan.all_rows and plan.all_cols))

    def _complete_rank(self, plan: ScalablePlan) -> int | None:
        """The rank of the whole matricization at the weights, or ``None`` when a check fails.

        1. **Rows that span.** Every prefix, or a basis of the rows found through the lifted
           state (:meth:`_row_basis`).
        2. **A block X** of those rows against every suffix (then its rank is the answer) or a
           sample of ``rows + _BASIS_SLACK`` suffixes, ranked together with its left null
           space N: ``rank A = rank X + rank (N A)`` because ``ker N = col X``.
        3. **N A = 0, certified** without visiting the ``M^m`` suffixes (:meth:`_vanishes`);
           where that fails, every suffix is streamed through N if there are few enough
           (:meth:`_streamed`), else ``None``.

        Depth 2's sampled block usually meets the lifted bound, so it is tried first there.
        """
        p, k = self.p, plan.prefix_length
        if plan.route == "lifted" and not plan.all_cols:
            first = scalable_plan(self.spec, k + plan.suffix_length, k, self.max_bytes, prime=p, complete=False)
            rows = self._inputs(first.rows, k, first.all_rows, 1, None if first.all_rows else set())
            if echelon_mod(self._block(first, rows, self._columns(first, first.cols, 2)), p,
                           overwrite=True).rank >= first.upper:
                return first.upper
            self._used = {}
        rows = self._row_basis(plan) if plan.basis_rows else _one_hot_sequences(self.spec.templates, k)
        if rows is None:
            return None
        columns = self._columns(plan, plan.cols, 2)
        block = self._block(plan, rows, columns)
        if plan.all_cols:
            return echelon_mod(block, p, overwrite=True).rank
        rank, null = left_null_space(block, p)
        del block
        if not len(null) or rank >= plan.upper or self._vanishes(plan, rows, null):
            return rank
        return self._streamed(plan, rows, rank, null)

    def _row_basis(self, plan: ScalablePlan) -> np.ndarray | None:
        """D prefixes whose rows span the row space at the cut, found through their lifted states.

        The output depends on a prefix only through its lifted state ``phi(p)`` (the
        monomials of its states of the degrees :func:`tnrnn.rac.bounds.state_degrees` gives), so
        ``row(p) = Psi phi(p)`` for one matrix Psi: prefixes whose lifted states span the
        whole lifted space span the row space. Random distinct prefixes are drawn, D +
        :data:`_BASIS_SLACK` then a quarter of D more per round (three rounds), and their
        lifted states ranked; the pivot rows are the basis. ``None`` when they never reach D
        (the reachable states then satisfy a polynomial identity of those degrees).
        """
        k, dim, p = plan.prefix_length, plan.rows, self.p
        degrees = state_degrees(self.spec.depth, plan.suffix_length)
        used: set[bytes] = set()
        drawn = self._inputs(plan.candidates, k, False, 1, used)
        for attempt in range(3):
            lifted = _lift(_run(self.weights, drawn), degrees, p).astype(np.float64)
            found = echelon_mod(lifted, p, overwrite=True)
            del lifted
            if found.rank == dim:
                return drawn[sorted(found.pivot_rows)]
            more = self._inputs(max(_BASIS_SLACK, dim // 4), k, False, 3 + attempt, used)
            if not len(more):
                return None
            drawn = np.concatenate([drawn[sorted(found.pivot_rows)], more])
        return None

    def _vanishes(self, plan: ScalablePlan, rows: np.ndarray, null: np.ndarray) -> bool:
        """Whether every combination ``sum_i null[j, i] row(p_i)`` is zero on **every** suffix.

        The combination is the row of a "virtual prefix" ``u = sum_i c_i phi(p_i)`` in the
        lifted space, and appending a symbol a acts linearly on it:
        ``T_a u = sum_i c_i phi'(p_i . a)``, the lifted states one step later. So the
        combinations vanish on every suffix iff the smallest family of subspaces
        ``U_0 = span{u_j}``, ``U_{l+1} = span{T_a x : x in U_l, a}`` ends, after m steps,
        inside the kernel of the output ``W^O``. Each ``U_l`` is kept as a basis of words
        ``(c, w)``, the vector ``sum_i c_i phi(p_i . w)`` computed exactly from the prefix
        states run through w, pruned by an exact rank: about ``m M dim(U) N D`` operations
        instead of the ``N M^m`` evaluations of every suffix. ``False`` when a combination
        reaches a non-zero output, or the basis outgrows :data:`_CLOSURE_MAX`.
        """
        p, templates, depth = self.p, self.spec.templates, self.spec.depth
        if not len(null):
            return True
        generators = [(c, _run(self.weights, rows)) for c in null]
        symbols = np.eye(templates, dtype=np.int64)
        for step in range(plan.suffix_length):
            remaining = plan.suffix_length - step - 1
            degrees = state_degrees(depth, remaining)
            candidates, vectors = [], []
            for coeffs, states in generators:
                for symbol in symbols:
                    moved = _run(self.weights, np.broadcast_to(symbol, (len(coeffs), 1, templates)), states)
                    candidates.append((coeffs, moved))
                    vectors.append(_lifted_combination(moved, degrees, coeffs, p))
            if remaining == 0:  # the lifted state is h^L_T: each vector must meet W^O at zero
                return not np.any(np.stack(vectors) @ (self.weights.output % p) % p)
            found = echelon_mod(np.stack(vectors).astype(np.float64), p, overwrite=True)
            if found.rank > _CLOSURE_MAX:
                return False
            generators = [candidates[i] for i in sorted(found.pivot_rows)]
            if not generators:
                return True
        return True

    def _streamed(self, plan: ScalablePlan, rows: np.ndarray, rank: int, null: np.ndarray) -> int | None:
        """``rank + rank (N A)`` with every suffix streamed through N (never stored); ``None`` if too many."""
        p, templates, m = self.p, self.spec.templates, plan.suffix_length
        limit = memory_limit(self.max_bytes)
        if plan.route != "direct" or templates**m > _STREAM_MAX_SUFFIXES or 16 * len(null) * templates**m > limit:
            return None
        every = dataclasses.replace(plan, cols=templates**m, all_cols=True)
        residual = np.zeros((len(null), templates**m), dtype=np.int64)
        for start, values in self._direct_chunks(every, rows, None, m):
            residual += matmul_mod(null[:, start:start + len(values)], np.mod(values.astype(np.int64), p), p)
            residual %= p
        return rank + rank_mod(residual, p)

    def _sampled_rank(self, plan: ScalablePlan) -> int:
        """The exact rank mod p of a sampled block, grown where it falls short of the upper bound.

        A sampled block that falls short of the upper bound is grown, not redrawn: each
        round adds ``upper / _GROWTH_FRACTION`` (at least ``_GROWTH_MIN``) prefixes and
        suffixes never drawn before, and ranks only the pivot rows and columns found so far
        plus the new ones; it stops as soon as a round does not raise the rank (or after
        ``_GROWTH_ROUNDS`` rounds, or at the bound). A side that holds every prefix
        (suffix) is kept whole. The result is a lower bound of the whole matricization's
        rank at the weights: the block may not span it.
        """
        p = self.p
        used_rows = self._used.setdefault(("rows", plan.prefix_length), set())
        rows = self._inputs(plan.rows, plan.prefix_length, plan.all_rows, 1,
                            None if plan.all_rows else used_rows)
        groups = [self._columns(plan, plan.cols, 2)]
        block = self._block(plan, rows, groups[0])
        whole = plan.all_rows and plan.all_cols  # nothing to grow: the block can be the work space
        found = echelon_mod(block, p, overwrite=whole)
        value = found.rank
        if value >= plan.upper or whole:
            return value
        # the r x r nonsingular block of the pivots, kept with the global indices of its rows/columns
        # a side that holds every prefix (suffix) keeps all of them: it cannot be redrawn
        piv_rows = list(range(block.shape[0])) if plan.all_rows else list(found.pivot_rows)
        piv_cols = list(range(block.shape[1])) if plan.all_cols else list(found.pivot_columns)
        core = block[np.ix_(piv_rows, piv_cols)]
        widths = [block.shape[1]]
        del block
        delta = max(_GROWTH_MIN, -(-plan.upper // _GROWTH_FRACTION))
        for attempt in range(1, _GROWTH_ROUNDS + 1):
            new_rows = (self._inputs(delta, plan.prefix_length, False, 2 * attempt + 1, used_rows)
                        if not plan.all_rows else rows[:0])
            group = self._columns(plan, delta, 2 * attempt + 2) if not plan.all_cols else None
            if not len(new_rows) and group is None:
                break
            # new rows against the pivot columns (spread over the earlier column groups)
            starts = np.cumsum([0] + widths)
            left = np.empty((len(new_rows), len(piv_cols)), dtype=core.dtype)
            if len(new_rows):
                for g, old in enumerate(groups):
                    inside = [i for i, c in enumerate(piv_cols) if starts[g] <= c < starts[g + 1]]
                    if inside:
                        values = self._block(plan, new_rows, old)
                        left[:, inside] = values[:, [piv_cols[i] - starts[g] for i in inside]]
            if group is not None:
                right_top = self._block(plan, rows[piv_rows], group)
                right_bottom = self._block(plan, new_rows, group)
            else:
                right_top = np.empty((len(core), 0), dtype=core.dtype)
                right_bottom = np.empty((len(new_rows), 0), dtype=core.dtype)
            width = right_top.shape[1]
            pieces = [[core, right_top], [left, right_bottom]]
            candidate = np.block(pieces)
            shape = candidate.shape
            found = echelon_mod(candidate, p, overwrite=True)  # the candidate is the work space
            del candidate
            if found.rank <= value:
                break
            value = found.rank
            all_rows = np.concatenate([rows[piv_rows], new_rows])
            all_cols = piv_cols + [int(starts[-1]) + c for c in range(width)]
            keep_rows = range(shape[0]) if plan.all_rows else sorted(found.pivot_rows)
            keep_cols = range(shape[1]) if plan.all_cols else sorted(found.pivot_columns)
            core = _submatrix(pieces, list(keep_rows), list(keep_cols))
            rows = all_rows
            piv_rows = list(keep_rows)
            piv_cols = [all_cols[c] for c in keep_cols]
            if group is not None:
                groups.append(group)
                widths.append(width)
            if value >= plan.upper:
                break
        return value

    def _columns(self, plan: ScalablePlan, count: int, tag: int):
        """A group of about ``count`` new suffixes, in the form the route evaluates them (``None``: none left).

        Lifted route: ``(front length, backs, psi)``, the suffixes every front times the
        backs; direct route: ``(fronts or None, tail length)``, every front times every
        tail of ``tail`` steps.
        """
        templates, m = self.spec.templates, plan.suffix_length
        if plan.route == "lifted":
            front = _front_length(plan, templates)
            n_backs = templates ** (m - front) if plan.all_cols else -(-count // templates**front)
            used = None if plan.all_cols else self._used.setdefault(("backs", m - front), set())
            backs = self._inputs(n_backs, m - front, plan.all_cols, tag, used)
            if not len(backs):
                return None  # every back is already in the block
            psi = np.ascontiguousarray(_suffix_coefficients(self.weights, backs).T)
            return front, backs, Limbs(psi) if self.p >= FAST_PRIME_LIMIT else balanced(psi, self.p)
        if plan.all_cols:
            return None, m
        tail = 0
        while tail + 1 < m and templates ** (tail + 1) * _MIN_FRONTS <= count:
            tail += 1
        n_fronts = -(-count // templates**tail)
        used = self._used.setdefault(("fronts", m - tail), set())
        fronts = self._inputs(n_fronts, m - tail, False, tag, used) if tail < m else None
        if fronts is not None and not len(fronts):
            return None  # every front is already in the block
        return fronts, tail

    def _block(self, plan: ScalablePlan, prefixes: np.ndarray, columns) -> np.ndarray:
        """The block ``K[prefix, suffix] = y(prefix . suffix)`` for a group of columns."""
        if len(prefixes) == 0:
            width = self._block(plan, np.zeros((1, *prefixes.shape[1:]), dtype=prefixes.dtype), columns).shape[1]
            return np.empty((0, width), dtype=np.float64)
        if plan.route == "lifted":
            return self._block_lifted(plan, prefixes, *columns)
        return self._block_direct(plan, prefixes, *columns)

    def _block_lifted(self, plan: ScalablePlan, prefixes: np.ndarray, front: int, backs: np.ndarray,
                      psi) -> np.ndarray:
        """Depth 2: ``K = Phi Psi^T`` through the lifted state, columns a product fronts x backs.

        The suffixes are every front f of a few steps followed by backs b (all of them, or
        distinct random ones): ``K[p, (f, b)] = <phi(p . f), psi(b)>`` at the cut after
        ``k + |f|`` steps, so the costly suffix coefficients are computed for the backs
        only, and each front costs one lifted-state evaluation and one matrix product.
        """
        p, templates = self.p, self.spec.templates
        m = plan.suffix_length
        fronts = _one_hot_sequences(templates, front)
        n_backs = len(backs)
        states = _run(self.weights, prefixes)
        n_rows = states[0].shape[0]
        block = np.empty((n_rows, len(fronts) * n_backs), dtype=np.float64)  # residues < 2**31: exact
        for i, steps in enumerate(fronts):
            if front:
                h1, h2 = _run(self.weights, np.broadcast_to(steps, (n_rows, *steps.shape)), states)
            else:
                h1, h2 = states
            phi = _lifted_states(h1, h2, m - front, p)
            block[:, i * n_backs:(i + 1) * n_backs] = _product(phi, psi, p)
        return block

    def _block_direct(self, plan: ScalablePlan, prefixes: np.ndarray, fronts: np.ndarray | None,
                      tail: int) -> np.ndarray:
        """``K[i, (f, t)] = y(prefix_i . f . t)``: fronts f, then every tail t, as a tree.

        The tails (every sequence of the last ``j`` steps, ``M^j <= N``) are grown as a tree
        from each prefix-and-front state, as the grid tensor grows prefixes: every tail step
        is shared by all the tails below it, so the cost is about ``2 N^2 L R^2`` instead of
        ``N^2 m L R^2`` for N independent suffixes. The tree runs in torch (:class:`_Residues`).
        """
        n_fronts = 1 if fronts is None else len(fronts)
        block = np.empty((len(prefixes), n_fronts * self.spec.templates**tail), dtype=np.float64)
        for start, values in self._direct_chunks(plan, prefixes, fronts, tail):
            block[start:start + len(values)] = values  # residues < 2**31: exact in float64
        return block

    def _direct_chunks(self, plan: ScalablePlan, prefixes: np.ndarray, fronts: np.ndarray | None,
                       tail: int):
        """Yield ``(first row, rows of the block)`` of :meth:`_block_direct`, in row chunks of bounded memory."""
        from tqdm.auto import tqdm

        p, r, templates = self.p, self.spec.hidden, self.spec.templates
        m = plan.suffix_length
        n_fronts = 1 if fronts is None else len(fronts)
        states = _run(self.weights, prefixes)
        n_rows = states[0].shape[0]
        width = n_fronts * templates**tail
        field = _Residues(p, r)
        inputs = [field.tensor(w.T) for w in self.weights.input]
        hidden = [field.tensor(w.T) for w in self.weights.hidden]
        output = field.tensor(self.weights.output[:, None])
        per_row = 3 * width * r * 8 * (self.spec.depth + 2)
        chunk = max(1, _CHUNK_BYTES // per_row)
        starts = range(0, n_rows, chunk)
        columns = inputs[0]  # (M, R): row d is W^{I,1} e_d
        show = self.progress if self.progress is not None else (
            sys.stderr.isatty() and n_rows * width >= 2**20)  # a long single rank: show it
        for start in tqdm(starts, desc=f"cut {plan.prefix_length}", leave=False,
                          disable=not show or len(starts) < 4):
            c = min(chunk, n_rows - start)
            current = [np.repeat(s[start:start + c], n_fronts, axis=0) for s in states]
            if fronts is not None:
                current = _run(self.weights, np.broadcast_to(fronts, (c, *fronts.shape)).reshape(
                    c * n_fronts, m - tail, templates), current)
            current = [field.tensor(s) for s in current]
            for _ in range(tail):  # grow every tail: state index = symbol * (states so far) + parent
                n = current[0].shape[0]
                below = columns[:, None, :].expand(templates, n, r).reshape(templates * n, r)
                for layer in range(self.spec.depth):
                    if layer > 0:
                        below = field.linear(below, inputs[layer])
                    carried = field.linear(current[layer], hidden[layer])
                    below.view(templates, n, r).mul_(carried)  # every parent times each of its M children
                    field.reduce(below)
                    current[layer] = below
            values = field.linear(current[-1], output)[:, 0]  # index (last symbol, ..., first, row, front)
            yield start, values.reshape(templates**tail, c * n_fronts).T.reshape(c, width).numpy()


class _Residues:
    """Exact arithmetic mod p on torch tensors for the direct evaluation's tree.

    Below 2**23 (and for R <= 256): float64, balanced residues ``|x| <= p/2 + 1`` reduced by
    ``x - p rint(x / p)``; a product of a residue and a weight in [0, p) is below 2**45 and
    a sum of R of them below 2**53, so a matrix product is one exact BLAS call. Otherwise
    int64 with non-negative residues, each product reduced before it is summed where a
    whole sum could overflow. torch runs the element-wise work on every core.
    """

    def __init__(self, p: int, hidden: int) -> None:
        import torch

        self.torch, self.p = torch, p
        self.fast = p < FAST_PRIME_LIMIT and hidden <= 256
        self.dtype = torch.float64 if self.fast else torch.int64
        self.delay = hidden * (p - 1) ** 2 < 2**63

    def tensor(self, values: np.ndarray):
        return self.torch.as_tensor(np.require(values, requirements=["C", "W"]), dtype=self.dtype)

    def reduce(self, x):
        return reduce_balanced(x, self.p) if self.fast else x.remainder_(self.p)

    def linear(self, rows, transposed):
        """``rows @ transposed`` mod p, for rows (n, b) and ``transposed`` (b, a)."""
        if self.fast or self.delay:
            return self.reduce(rows @ transposed)
        out = self.torch.zeros((rows.shape[0], transposed.shape[1]), dtype=self.dtype)
        for i in range(transposed.shape[0]):
            out += (rows[:, i, None] * transposed[None, i, :]).remainder_(self.p)
        return out.remainder_(self.p)


def _submatrix(pieces: list[list[np.ndarray]], rows: list[int], cols: list[int]) -> np.ndarray:
    """``np.block(pieces)[np.ix_(rows, cols)]`` of a 2 x 2 block matrix, without assembling it.

    ``rows`` and ``cols`` are increasing, so the picked rows (columns) of the first block
    row (column) come first.
    """
    height, width = pieces[0][0].shape
    split_rows = [np.asarray([r for r in rows if r < height], dtype=np.intp),
                  np.asarray([r - height for r in rows if r >= height], dtype=np.intp)]
    split_cols = [np.asarray([c for c in cols if c < width], dtype=np.intp),
                  np.asarray([c - width for c in cols if c >= width], dtype=np.intp)]
    return np.block([[pieces[i][j][np.ix_(split_rows[i], split_cols[j])] for j in range(2)] for i in range(2)])


def _product(phi: np.ndarray, psi, p: int) -> np.ndarray:
    """Exact ``phi @ psi mod p``: 16-bit float64 limbs from 2**23 on (``psi`` as :class:`Limbs`),
    else one product of balanced residues (``psi`` from :func:`tnrnn.exact.elimination.balanced`),
    reduced every 256 inner terms."""
    if isinstance(psi, Limbs):
        return matmul_mod_blas(phi, psi, p)
    return matmul_balanced(balanced(phi, p), psi, p).numpy()


def contiguous_cut(partition: Partition) -> int:
    """The prefix length k of a contiguous cut; other partitions are refused, naming the routes that take them."""
    k = partition.prefix_length
    if k is None:
        raise ValueError(f"the scalable method needs a contiguous cut (start-end or cut:K), got "
                         f"partition {partition.name!r} with S={partition.start}: use method='dense' "
                         f"or 'tn' for other partitions")
    return k


def capped_lower_bound(spec: RACSpec, length: int, size: int, *, prime: int = DEFAULT_PRIME,
                       seed: int = 0) -> int:
    """A proven lower end for a cell too large to rank: the rank of a capped block at the Start-End cut.

    Ranks ``size`` distinct random one-hot prefixes by ``size`` random suffixes (fewer
    where there are fewer) at one draw of modular weights, on the direct route whatever
    the depth. The rank mod p of any block of the matricization, at any weights, is at
    most its rank over Q, which is at most the generic rank: the value is a lower bound
    with no probability attached, never an estimate.

    Parameters
    ----------
    spec : RACSpec
    length : int
        T, even.
    size : int
        Rows and columns of the block (its rank costs about ``size^3`` operations).
    prime : int
        Modulus.
    seed : int
        Seed of the weights and of the samples.

    Returns
    -------
    int

    Examples
    --------
    >>> capped_lower_bound(RACSpec(3, 3, 3), 40, 64)
    64
    """
    k = contiguous_cut(start_end(length))
    m, mt = length - k, spec.templates
    rows, cols = min(size, mt**k), min(size, mt**m)
    plan = ScalablePlan(k, m, rows, rows, cols, rows == mt**k, cols == mt**m, None, "direct",
                        8 * rows * cols + _CHUNK_BYTES)
    ranker = _CutRanker(RACWeights.random_mod_p(spec, prime, seed), seed=seed, progress=False)
    ranker._used = {}
    prefixes = ranker._inputs(rows, k, plan.all_rows, 1, None if plan.all_rows else set())
    block = ranker._block(plan, prefixes, ranker._columns(plan, cols, 2))
    return echelon_mod(block, prime, overwrite=True).rank


def exact_rank_scalable(weights: RACWeights, partition: Partition, max_bytes: int | None = None, *,
                        seed: int = 0) -> BlockRank:
    """Exact rank mod p of ``[A]_{S,E}`` at a contiguous cut, or of a block of it, with no grid tensor.

    Parameters
    ----------
    weights : RACWeights
        Modular weights (``RACWeights.random_mod_p``).
    partition : Partition
        A contiguous cut: ``start_end(T)`` or ``cut(T, k)`` (either side may be the prefix).
    max_bytes : int, optional
        Memory limit, checked before any work (default ``TNRNN_MAX_BYTES`` or 4 GiB).
    seed : int
        Seed of the random choice of prefixes and suffixes (used only where there are more
        than the block needs); independent of the weights.

    Returns
    -------
    BlockRank
        ``complete=True``: the rank of the whole matricization at these weights, from a
        block of every suffix by every prefix or a basis of the rows (:func:`scalable_plan`
        says which block and why), or from a sampled block whose rank meets the closed-form
        upper bound. ``complete=False``: the rank of a sampled block that may not span,
        a proven lower bound of that rank (and of the generic rank) and nothing more.

    Raises
    ------
    ValueError
        Real weights, a non-contiguous partition, or a block that would not fit in
        ``max_bytes`` (the message gives its predicted size).

    Notes
    -----
    With N the closed-form upper bound at the cut and D the lifted dimension, depth 2
    costs ``O(N R^2 C(R+m, m))`` for the suffix coefficients, an N x D x N product and one
    N x N exact rank; other depths ``O(N^2 m L R^2)`` and one N x N rank. Polynomial in T
    for fixed M, R, L.

    Examples
    --------
    >>> from tnrnn.rac.partitions import start_end
    >>> w = RACWeights.random_mod_p(RACSpec(3, 3, 2), prime=2_147_483_647, seed=0)
    >>> exact_rank_scalable(w, start_end(10))
    BlockRank(value=63, complete=True)
    """
    k = contiguous_cut(partition)  # when S is the suffix, [A] is transposed: same rank
    return _CutRanker(weights, seed=seed, max_bytes=max_bytes).rank(partition.length, k)
