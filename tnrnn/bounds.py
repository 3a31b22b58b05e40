"""Closed-form bounds on the generic separation rank of a RAC (derivations: the documentation's *Concepts and theory* page).

Each bound states its status: **paper** (a theorem of the source papers),
**derived** (our derivation, given in its docstring), **trivial**. All are exact
Python integers: they grow like ``M**(T/2)`` and must not overflow.

For a contiguous cut with prefix length k and suffix length m = T - k, the
output depends on the prefix only through the states ``h^l_k``, with degree

    d_L = 1,   d_l = C(m + L - l - 1, L - l)   (l < L)

in ``h^l_k`` (each future step multiplies one more linear form of every lower
layer; the hockey-stick identity gives the count). This drives both the lifted
and the min-cut bounds.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from math import comb

from tnrnn.circuits import RACSpec
from tnrnn.partitions import Partition, start_end

__all__ = [
    "Bounds",
    "bounds",
    "shallow",
    "depth2_lower",
    "trivial_upper",
    "lifted_upper",
    "mincut_upper",
    "copies_upper",
    "input_copies",
    "state_degrees",
]

STATUS = {
    "shallow": "paper (Start-End, depth 1: exact generic value); derived upper bound for other cuts",
    "depth2_lower": "paper (depth 2, Start-End: lower bound for almost all weights)",
    "trivial_upper": "trivial (matrix dimensions)",
    "lifted_upper": "derived (degrees of the output in the states at the cut)",
    "mincut_upper": "derived (bond dimensions crossing the cut of the duplicated network)",
    "copies_upper": "derived (degree of the output in each input's R-dim embedding)",
}


def state_degrees(depth: int, suffix_length: int) -> tuple[int, ...]:
    """Degrees ``(d_1, ..., d_L)`` of the output in ``h^1_k, ..., h^L_k``, m steps before the end.

    Examples
    --------
    >>> state_degrees(2, 4), state_degrees(3, 2)
    ((4, 1), (3, 2, 1))
    """
    m = suffix_length
    return tuple(comb(m + depth - layer - 1, depth - layer) for layer in range(1, depth)) + (1,)


def _prefix_suffix(partition: Partition) -> tuple[int, int] | None:
    k = partition.prefix_length
    return None if k is None else (k, partition.length - k)


def shallow(spec: RACSpec, partition: Partition) -> int | None:
    """``min(R, M^k, M^m)`` for depth 1 at a contiguous cut, else ``None``.

    Status: **paper** for the Start-End partition (the generic rank of a depth-1 RAC
    equals ``min(R, M^{T/2})``); for other cuts an upper bound (the MPS bond has dim R).
    """
    cut = _prefix_suffix(partition)
    if spec.depth != 1 or cut is None:
        return None
    k, m = cut
    return min(spec.hidden, spec.templates**k, spec.templates**m)


def depth2_lower(spec: RACSpec, partition: Partition) -> int | None:
    """``C(min(M, R) + T/2 - 1, T/2)`` for depth 2 and the Start-End partition, else ``None``.

    Status: **paper** (Levine et al. 2017 / Ziv 2020): holds for almost all weights.

    Examples
    --------
    >>> depth2_lower(RACSpec(3, 3, 2), start_end(8))
    15
    """
    if spec.depth != 2 or partition.name != "start-end":
        return None
    half = partition.length // 2
    return comb(min(spec.templates, spec.hidden) + half - 1, half)


def trivial_upper(spec: RACSpec, partition: Partition) -> int:
    """``min(M^|S|, M^|E|)``: the matricization's smaller dimension. Status: **trivial**."""
    return min(spec.templates ** len(partition.start), spec.templates ** len(partition.end))


def lifted_upper(spec: RACSpec, partition: Partition) -> int | None:
    """``R * prod_{l<L} C(R + d_l - 1, d_l)`` at a contiguous cut, else ``None``.

    Status: **derived**. The output is linear in ``h^L_k`` and a homogeneous polynomial
    of degree ``d_l`` in each ``h^l_k`` (:func:`state_degrees`), so every row of the
    matricization is a linear functional of the lifted state
    ``h^L_k (x) Sym^{d_{L-1}} h^{L-1}_k (x) ... (x) Sym^{d_1} h^1_k``, whose dimension is
    this number. For depth 2 it is ``R * C(R + m - 1, m)``.

    Examples
    --------
    >>> lifted_upper(RACSpec(3, 3, 2), start_end(8))
    45
    """
    cut = _prefix_suffix(partition)
    if cut is None:
        return None
    _, m = cut
    value = spec.hidden
    for degree in state_degrees(spec.depth, m)[:-1]:
        value *= comb(spec.hidden + degree - 1, degree)
    return value


def mincut_upper(spec: RACSpec, partition: Partition) -> int | None:
    """``R ** (number of bonds crossing the cut)`` of the duplicated tensor network.

    Status: **derived**. At a contiguous cut, layer l's chain is duplicated once per
    use by the future, ``d_l`` copies (:func:`state_degrees`), each crossing the cut on
    one bond of dim R: ``R ** sum(d_l)``, which is ``R ** (T/2 + 1)`` for depth 2 at the
    Start-End cut. For depth 1 and any partition the MPS crosses one bond per boundary
    between S and E. ``None`` for deeper networks and non-contiguous partitions.

    Examples
    --------
    >>> mincut_upper(RACSpec(2, 2, 2), start_end(8))
    32
    """
    cut = _prefix_suffix(partition)
    if cut is not None:
        return spec.hidden ** sum(state_degrees(spec.depth, cut[1]))
    if spec.depth == 1:
        return spec.hidden**partition.boundaries
    return None


def input_copies(depth: int, length: int, t: int) -> int:
    """How often input ``x_t`` (0-based) enters the output: ``C(T-1-t + L-1, L-1)``.

    The output is a polynomial of exactly this degree in ``W^{I,1} f(x_t)``: each copy of
    the layer-1 chain in the duplicated network (:mod:`tnrnn.tensornet`) reads ``x_t`` once.

    Examples
    --------
    >>> [input_copies(2, 4, t) for t in range(4)]
    [4, 3, 2, 1]
    """
    return comb(length - 1 - t + depth - 1, depth - 1)


def copies_upper(spec: RACSpec, partition: Partition) -> int:
    """``min over sides of prod_t min(M, C(R + n_t - 1, n_t))``, ``n_t`` = :func:`input_copies`.

    Status: **derived**, any partition. The output depends on ``x_t`` only through the
    R-vector ``c_t = W^{I,1} f(x_t)``, as a homogeneous polynomial of degree ``n_t``; so as a
    function of one side's inputs it lies in the tensor product over that side of spaces of
    dimension at most ``C(R + n_t - 1, n_t)`` (monomials) and at most M (functions on M
    templates). It is what certifies cuts near the end when M > R: at the last step
    ``n = 1`` and the bound is ``min(M, R)``.

    Examples
    --------
    >>> from tnrnn.partitions import cut
    >>> copies_upper(RACSpec(4, 3, 2), cut(16, 15)), copies_upper(RACSpec(4, 3, 1), start_end(4))
    (3, 9)
    """
    m, r, depth, length = spec.templates, spec.hidden, spec.depth, partition.length

    def side(steps) -> int:
        value = 1
        for t in steps:
            n = input_copies(depth, length, t)
            value *= min(m, comb(r + n - 1, n))
        return value

    return min(side(partition.start), side(partition.end))


@dataclass(frozen=True)
class Bounds:
    """All closed forms for one architecture, length and partition (``None``: not applicable).

    ``lower`` and ``upper`` combine the applicable ones into the interval the generic
    rank is proven to lie in.
    """

    shallow: int | None
    depth2_lower: int | None
    trivial_upper: int
    lifted_upper: int | None
    mincut_upper: int | None
    partition: str
    copies_upper: int | None = None

    @property
    def lower(self) -> int:
        """The best proven lower bound (at least 1: a generic RAC is not identically zero)."""
        candidates = [1]
        if self.shallow is not None and self.partition == "start-end":
            candidates.append(self.shallow)
        if self.depth2_lower is not None:
            candidates.append(min(self.depth2_lower, self.upper))
        return max(candidates)

    @property
    def upper(self) -> int:
        """The best upper bound among those that apply."""
        values = [self.trivial_upper, self.shallow, self.lifted_upper, self.mincut_upper, self.copies_upper]
        return min(v for v in values if v is not None)

    def to_dict(self) -> dict:
        """Named closed forms plus ``lower``/``upper`` (JSON-ready)."""
        return {**asdict(self), "lower": self.lower, "upper": self.upper}


def bounds(spec: RACSpec, length: int, partition: Partition | None = None) -> Bounds:
    """Every closed form of this module for ``spec`` at ``length`` and ``partition``.

    Parameters
    ----------
    spec : RACSpec
    length : int
        T; must be even for the default Start-End partition.
    partition : Partition, optional
        Default: Start-End.

    Examples
    --------
    >>> b = bounds(RACSpec(3, 3, 2), 8)
    >>> b.depth2_lower, b.lifted_upper, b.trivial_upper, b.mincut_upper, b.lower, b.upper
    (15, 45, 81, 243, 15, 45)
    """
    partition = start_end(length) if partition is None else partition
    if partition.length != length:
        raise ValueError(f"partition is for length {partition.length}, not length={length}")
    return Bounds(
        shallow=shallow(spec, partition),
        depth2_lower=depth2_lower(spec, partition),
        trivial_upper=trivial_upper(spec, partition),
        lifted_upper=lifted_upper(spec, partition),
        mincut_upper=mincut_upper(spec, partition),
        partition=partition.name,
        copies_upper=copies_upper(spec, partition),
    )
