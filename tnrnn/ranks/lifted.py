"""The lifted-state route at any depth: the block of ``[A]`` as a product through the state at a cut.

At a contiguous cut after k steps (suffix length m) the output of a depth-L RAC depends on
the prefix only through the states ``h^1_k, ..., h^L_k``, and is a polynomial of degree
``d_l`` (:func:`tnrnn.rac.bounds.state_degrees`) in each ``h^l_k``. So every block of the
matricization factors through the lifted state::

    K[p, s] = y(p . s) = < phi(p), psi(s) >        K = Phi Psi^T

* ``phi(p) = Sym^{d_1}(h^1_k) (x) ... (x) Sym^{d_L}(h^L_k)``: the monomials of the prefix's
  states, of dimension ``D = prod_l C(R + d_l - 1, d_l)`` (the lifted upper bound);
* ``psi(s)``: the coefficients of the suffix's polynomial in the states at the cut. They
  are found by interpolation: the suffix is run from ``D`` random states ``z_i`` (any
  state, reachable or not: the polynomial is defined everywhere), ``E[s, i] = F_s(z_i)``,
  and ``V[i, :] = phi(z_i)``, so ``E = Psi V^T``.

The rank of ``K = Phi V^{-T} E^T`` is computed without inverting V, by the Schur
complement of the bordered matrix::

    rank [[V^T, E^T], [Phi, 0]] = rank(V) + rank(K)       when V is nonsingular,

one exact rank of an ``(N + D) x (D + N)`` matrix (:func:`tnrnn.exact.modular.rank_mod`). V is
nonsingular for all but a fraction ``D * sum_l d_l / p`` of the probe draws (its determinant
is a nonzero polynomial in the probes); it is checked, and redrawn when singular.

This route is exact at every depth and is tested against the dense one at depths 1-4. It
is not faster than the scalable method's direct evaluation at Start-End cuts: there the
block needs ``N = min(D, M^k)`` rows, and interpolation costs ``N D`` suffix runs plus a
rank of size ``N + D``, against ``N^2`` evaluations and a rank of size N. Depth 2 has a
cheap recursion for ``psi`` (:mod:`tnrnn.ranks.scalable`); deeper ones do not yet.
"""

from __future__ import annotations

import numpy as np

from tnrnn.exact.modular import FAST_PRIME_LIMIT, rank_mod
from tnrnn.guards import RAISE_MEMORY, SizeLimitError, memory_limit
from tnrnn.rac.bounds import bounds as closed_forms
from tnrnn.rac.bounds import state_degrees
from tnrnn.rac.circuits import RACSpec, RACWeights
from tnrnn.rac.partitions import Partition
from tnrnn.ranks.scalable import (
    _CONVERSION_BYTES_PER_ENTRY,
    _distinct_random_sequences,
    _lift,
    _lifted_size,
    _one_hot_sequences,
    _run,
)

__all__ = ["lifted_dimension", "lifted_bytes", "check_lifted_size", "exact_rank_lifted"]


def lifted_dimension(hidden: int, depth: int, suffix_length: int) -> int:
    """``D = prod_l C(R + d_l - 1, d_l)``: the dimension of the lifted state at a cut.

    Examples
    --------
    >>> lifted_dimension(2, 3, 20), lifted_dimension(3, 2, 32)
    (8862, 1683)
    """
    return _lifted_size(hidden, depth, suffix_length)


def _outputs(weights: RACWeights, suffixes: np.ndarray, states: list[np.ndarray]) -> np.ndarray:
    """``E[s, i]``: the output after running suffix s from the i-th state tuple."""
    p = weights.modulus
    n_s, n_z = len(suffixes), states[0].shape[0]
    repeated = [np.tile(s, (n_s, 1)) for s in states]  # pair (s, i) at row s * n_z + i
    features = np.repeat(suffixes, n_z, axis=0)
    final = _run(weights, features, repeated)[-1]
    values = (final * weights.output[None, :] % p).sum(axis=1) % p
    return values.reshape(n_s, n_z)


def _contiguous(partition: Partition) -> int:
    k = partition.prefix_length
    if k is None:
        raise ValueError(f"the lifted route needs a contiguous cut (start-end or cut:K), got partition "
                         f"{partition.name!r}")
    return k


def lifted_bytes(spec: RACSpec, partition: Partition, prime: int) -> tuple[int, int, int, int]:
    """Predicted working memory of :func:`exact_rank_lifted` at a contiguous cut, before any work.

    Returns
    -------
    (int, int, int, int)
        Bytes, the lifted dimension D, and the prefixes and suffixes used: every one while
        there are at most ``max(4N, 1024)`` (N the closed-form upper bound), else 2N distinct
        random ones.

    Examples
    --------
    >>> from tnrnn.rac.circuits import RACSpec
    >>> from tnrnn.rac.partitions import start_end
    >>> lifted_bytes(RACSpec(2, 2, 3), start_end(8), 8_388_593)
    (239648, 110, 16, 16)
    """
    k = _contiguous(partition)
    m = partition.length - k
    mt, r = spec.templates, spec.hidden
    dim = lifted_dimension(r, spec.depth, m)
    upper = closed_forms(spec, partition.length, partition).upper
    rows = mt**k if mt**k <= max(4 * upper, 1024) else 2 * upper
    cols = mt**m if mt**m <= max(4 * upper, 1024) else 2 * upper
    # the bordered matrix in float64, ranked in place on BLAS (python-flint converts through lists)
    per_entry = 8 if prime < FAST_PRIME_LIMIT else 8 + _CONVERSION_BYTES_PER_ENTRY
    need = per_entry * (rows + dim) * (dim + cols) + 8 * (cols * dim) * (spec.depth * r + 2)
    return need, dim, rows, cols


def check_lifted_size(spec: RACSpec, partition: Partition, prime: int,
                      max_bytes: int | None = None) -> tuple[int, int, int, int]:
    """:func:`lifted_bytes`, refused with :class:`~tnrnn.guards.SizeLimitError` over the memory limit."""
    need, dim, rows, cols = lifted_bytes(spec, partition, prime)
    limit = memory_limit(max_bytes)
    if need > limit:
        k = partition.prefix_length
        raise SizeLimitError(
            f"the lifted route at cut k={k} for M={spec.templates}, R={spec.hidden}, L={spec.depth}, "
            f"T={partition.length} needs a lifted state of dimension {dim:,} and a {rows + dim:,} x {dim + cols:,} "
            f"bordered matrix: about {need / 2**30:.3g} GiB, over the limit of {limit / 2**30:.3g} GiB "
            f"({RAISE_MEMORY})")
    return need, dim, rows, cols


def exact_rank_lifted(weights: RACWeights, partition: Partition, max_bytes: int | None = None, *,
                      seed: int = 0) -> int:
    """Exact rank mod p of a block of ``[A]_{S,E}`` at a contiguous cut, through the lifted state.

    Parameters
    ----------
    weights : RACWeights
        Modular weights.
    partition : Partition
        A contiguous cut (``start_end(T)`` or ``cut(T, k)``).
    max_bytes : int, optional
        Memory limit, checked before any work (default ``TNRNN_MAX_BYTES`` or 4 GiB).
    seed : int
        Seed of the probe states and of the prefix/suffix samples.

    Returns
    -------
    int
        The rank of the block of every prefix and every suffix while there are at most
        ``max(4N, 1024)`` of them (N the closed-form upper bound), else of 2N distinct
        random ones: a certified lower bound of the generic rank, equal to the dense
        route's rank where every prefix and suffix is used.

    Raises
    ------
    ValueError
        Real weights, a non-contiguous partition, or a bordered matrix that would not fit
        in ``max_bytes`` (the message gives the lifted dimension and the predicted size).
    RuntimeError
        If three draws of probe states all gave a singular V (probability at most
        ``(D * sum d_l / p)^3``).

    Examples
    --------
    >>> from tnrnn.rac.circuits import RACSpec
    >>> from tnrnn.rac.partitions import start_end
    >>> w = RACWeights.random_mod_p(RACSpec(2, 2, 3), prime=8_388_593, seed=0)
    >>> exact_rank_lifted(w, start_end(8))
    16
    """
    if not isinstance(weights, RACWeights) or not weights.exact:
        raise ValueError("the lifted route needs modular (exact) weights: use RACWeights.random_mod_p")
    k = _contiguous(partition)
    spec, p = weights.spec, weights.modulus
    length = partition.length
    m = length - k
    mt, r = spec.templates, spec.hidden
    degrees = state_degrees(spec.depth, m)
    need, dim, rows, cols = check_lifted_size(spec, partition, p, max_bytes)
    rng = np.random.default_rng([seed % 2**63, k, m])
    prefixes = (_one_hot_sequences(mt, k) if rows == mt**k
                else _distinct_random_sequences(rng, rows, mt, k))
    suffixes = (_one_hot_sequences(mt, m) if cols == mt**m
                else _distinct_random_sequences(rng, cols, mt, m))
    phi = _lift(_run(weights, prefixes), degrees, p)
    for _ in range(3):
        probes = [rng.integers(0, p, size=(dim, r), dtype=np.int64) for _ in range(spec.depth)]
        v = _lift(probes, degrees, p)
        if rank_mod(v, p) == dim:
            break
    else:
        raise RuntimeError(f"three draws of {dim} probe states gave a singular interpolation matrix mod {p}")
    e = _outputs(weights, suffixes, probes)
    bordered = np.zeros((dim + len(phi), dim + len(suffixes)), dtype=np.float64)  # residues: exact
    bordered[:dim, :dim] = v.T
    bordered[:dim, dim:] = e.T
    bordered[dim:, :dim] = phi
    return rank_mod(bordered, p, overwrite=True) - dim
