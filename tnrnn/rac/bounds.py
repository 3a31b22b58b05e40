"""Closed-form bounds on the generic separation rank of a RAC.

Each bound states its status: **paper** (a theorem of the source papers),
**derived** (our derivation, given in its docstring), **trivial**. A bound is an exact
Python integer while it has at most :data:`EXACT_DIGITS` decimal digits; beyond that it
is an :class:`Approx`, a number held by its base-10 logarithm and printed as
``~1.2e+45678``, so that no bound costs more than ``O(L + T)`` float operations to
compute or to print, however large the architecture (an exact ``M**(T/2)`` at
``T = 10**6`` has 238 561 digits, more than Python will print by default).

For a contiguous cut with prefix length k and suffix length m = T - k, the
output depends on the prefix only through the states ``h^l_k``, with degree

    d_L = 1,   d_l = C(m + L - l - 1, L - l)   (l < L)

in ``h^l_k`` (each future step multiplies one more linear form of every lower
layer; the hockey-stick identity gives the count). This drives both the lifted
and the min-cut bounds.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from math import comb, lgamma

from tnrnn._numbers import EXACT_DIGITS, LN10, LOG10_2, Approx, as_float, bounded, format_count  # noqa: F401
from tnrnn.rac.circuits import RACSpec
from tnrnn.rac.partitions import Partition, start_end

__all__ = [
    "Approx",
    "EXACT_DIGITS",
    "format_count",
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
    "bounded",
    "as_float",
]

STATUS = {
    "shallow": "paper (Start-End, depth 1: exact generic value); derived upper bound for other cuts",
    "depth2_lower": "paper (depth 2, Start-End: lower bound for almost all weights)",
    "trivial_upper": "trivial (matrix dimensions)",
    "lifted_upper": "derived (degrees of the output in the states at the cut)",
    "mincut_upper": "derived (bond dimensions crossing the cut of the duplicated network)",
    "copies_upper": "derived (degree of the output in each input's R-dim embedding)",
}


def _exact_or_approx(log10_value: float, exact) -> int | Approx:
    """``exact()`` when the number has at most about :data:`EXACT_DIGITS` digits, else ``Approx``."""
    if log10_value <= EXACT_DIGITS:
        return exact()
    return Approx(log10_value)


def _log10_comb(n: int, k: int) -> float:
    """``log10 C(n, k)`` for integers ``0 <= k <= n`` of any size, in O(1) float operations."""
    k = min(k, n - k)
    if k <= 0:
        return 0.0
    if k <= 64:
        return math.log10(comb(n, k))
    if n < 2**1000:
        return (lgamma(n + 1) - lgamma(k + 1) - lgamma(n - k + 1)) / LN10
    # n beyond float range: binary entropy form, error O(log n) on a logarithm above 10^300
    ratio = n / k  # exact big-int quotient, then float
    return k * math.log10(ratio) + (n - k) * math.log10(n / (n - k))


def _log10_multiset(r: int, degree: int | None, log10_degree: float) -> float:
    """``log10 C(r + d - 1, d)`` (monomials of degree d in r variables)."""
    if r == 1:
        return 0.0
    if degree is not None and degree < 2**53:
        return _log10_comb(r + degree - 1, r - 1)
    # d > 2^53 >> r - 1 is not guaranteed, but the relative error of (r-1) log d is r^2 / d
    return (r - 1) * log10_degree - lgamma(r) / LN10


def _degree_logs(depth: int, suffix_length: int):
    """Yield ``(d, log10 d)`` for ``d_l``, l = L-1 down to 1 (``d`` is None once above 2^53)."""
    m = suffix_length
    degree: int | None = 1
    log_degree = 0.0
    for j in range(1, depth):  # d_{L-j} = C(m + j - 1, j) = d_{L-j+1} * (m + j - 1) / j
        if degree is not None:
            degree = degree * (m + j - 1) // j
            log_degree = math.log10(degree)
            if degree >= 2**53:
                degree = None
        else:
            log_degree += math.log10((m + j - 1) / j)
        yield degree, log_degree


def state_degrees(depth: int, suffix_length: int) -> tuple[int, ...]:
    """Degrees ``(d_1, ..., d_L)`` of the output in ``h^1_k, ..., h^L_k``, m steps before the end.

    Exact integers: for large ``depth`` and ``suffix_length`` they are astronomically large,
    which is why the bounds below work with their logarithms.

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
    The name says which architectures it is for: depth 1 (shallow) only; it is ``None``
    for depth >= 2, whose bounds are :func:`depth2_lower` and the upper bounds.

    Examples
    --------
    >>> shallow(RACSpec(3, 5, 1), start_end(2)), shallow(RACSpec(3, 5, 2), start_end(2)) is None
    (3, True)
    """
    cut = _prefix_suffix(partition)
    if spec.depth != 1 or cut is None:
        return None
    n = min(cut)
    if n * math.log10(spec.templates) >= math.log10(spec.hidden):
        return spec.hidden
    return min(spec.hidden, spec.templates**n)


def depth2_lower(spec: RACSpec, partition: Partition) -> int | Approx | None:
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
    n = min(spec.templates, spec.hidden) + half - 1
    return _exact_or_approx(_log10_comb(n, half), lambda: comb(n, half))


def trivial_upper(spec: RACSpec, partition: Partition) -> int | Approx:
    """``min(M^|S|, M^|E|)``: the matricization's smaller dimension. Status: **trivial**.

    Examples
    --------
    >>> trivial_upper(RACSpec(3, 3, 2), start_end(8)), trivial_upper(RACSpec(3, 3, 2), start_end(20000))
    (81, Approx('~1.6e+4771'))
    """
    n = min(len(partition.start), len(partition.end))
    return _exact_or_approx(n * math.log10(spec.templates), lambda: spec.templates**n)


def lifted_upper(spec: RACSpec, partition: Partition) -> int | Approx | None:
    """``R * prod_{l<L} C(R + d_l - 1, d_l)`` at a contiguous cut, else ``None``.

    Status: **derived**. The output is linear in ``h^L_k`` and a homogeneous polynomial
    of degree ``d_l`` in each ``h^l_k`` (:func:`state_degrees`), so every row of the
    matricization is a linear functional of the lifted state
    ``h^L_k (x) Sym^{d_{L-1}} h^{L-1}_k (x) ... (x) Sym^{d_1} h^1_k``, whose dimension is
    this number. For depth 2 it is ``R * C(R + m - 1, m)``. Cost: O(L) float operations
    (exact integers only when the result has at most :data:`EXACT_DIGITS` digits).

    Examples
    --------
    >>> lifted_upper(RACSpec(3, 3, 2), start_end(8))
    45
    """
    cut = _prefix_suffix(partition)
    if cut is None:
        return None
    _, m = cut
    r = spec.hidden
    log_value = math.log10(r) + sum(_log10_multiset(r, d, log_d) for d, log_d in _degree_logs(spec.depth, m))

    def exact() -> int:
        value = r
        for degree in state_degrees(spec.depth, m)[:-1]:
            value *= comb(r + degree - 1, degree)
        return value

    return _exact_or_approx(log_value, exact)


def mincut_upper(spec: RACSpec, partition: Partition) -> int | Approx | None:
    """``R ** (number of bonds crossing the cut)`` of the duplicated tensor network.

    Status: **derived**. At a contiguous cut, layer l's chain is duplicated once per
    use by the future, ``d_l`` copies (:func:`state_degrees`), each crossing the cut on
    one bond of dim R: ``R ** sum(d_l)``, and ``sum(d_l) = C(m + L - 1, L - 1)`` (hockey
    stick), which is ``T/2 + 1`` for depth 2 at the Start-End cut. For depth 1 and any
    partition the MPS crosses one bond per boundary between S and E. ``None`` for deeper
    networks and non-contiguous partitions.

    Examples
    --------
    >>> mincut_upper(RACSpec(2, 2, 2), start_end(8))
    32
    """
    cut = _prefix_suffix(partition)
    r = spec.hidden
    if cut is not None:
        m, depth = cut[1], spec.depth
        log_bonds = _log10_comb(m + depth - 1, depth - 1)
        if r == 1:
            return 1
        log_value = 10**log_bonds * math.log10(r) if log_bonds < 300 else math.inf
        return _exact_or_approx(log_value, lambda: r ** comb(m + depth - 1, depth - 1))
    if spec.depth == 1:
        bonds = partition.boundaries
        return _exact_or_approx(bonds * math.log10(r), lambda: r**bonds)
    return None


def input_copies(depth: int, length: int, t: int) -> int:
    """How often input ``x_t`` (0-based) enters the output: ``C(T-1-t + L-1, L-1)``.

    The output is a polynomial of exactly this degree in ``W^{I,1} f(x_t)``: each copy of
    the layer-1 chain in the duplicated network reads ``x_t`` once.

    Examples
    --------
    >>> [input_copies(2, 4, t) for t in range(4)]
    [4, 3, 2, 1]
    """
    return comb(length - 1 - t + depth - 1, depth - 1)


def copies_upper(spec: RACSpec, partition: Partition) -> int | Approx:
    """``min over sides of prod_t min(M, C(R + n_t - 1, n_t))``, ``n_t`` = :func:`input_copies`.

    Status: **derived**, any partition. The output depends on ``x_t`` only through the
    R-vector ``c_t = W^{I,1} f(x_t)``, as a homogeneous polynomial of degree ``n_t``; so as a
    function of one side's inputs it lies in the tensor product over that side of spaces of
    dimension at most ``C(R + n_t - 1, n_t)`` (monomials) and at most M (functions on M
    templates). It is what certifies cuts near the end when M > R: at the last step
    ``n = 1`` and the bound is ``min(M, R)``. Cost: O(T) (``n_t`` grows with the distance
    to the end, so only the last few factors differ from M).

    Examples
    --------
    >>> from tnrnn.rac.partitions import cut
    >>> copies_upper(RACSpec(4, 3, 2), cut(16, 15)), copies_upper(RACSpec(4, 3, 1), start_end(4))
    (3, 9)
    """
    m, r, depth, length = spec.templates, spec.hidden, spec.depth, partition.length
    small: dict[int, int] = {}  # t -> factor, for the factors below M (all t close to the end)
    for t in range(length - 1, -1, -1):
        if r == 1:
            factor = 1
        else:
            n = input_copies(depth, length, t)
            factor = m if _log10_multiset(r, n, math.log10(n)) >= math.log10(m) + 1e-9 else min(m, comb(r + n - 1, n))
        if factor >= m:
            break
        small[t] = factor
        if depth == 1 and len(small) > 1:  # n_t = 1 for every t: the same factor throughout
            small.update({u: factor for u in range(t)})
            break

    def side(steps) -> tuple[float, object]:
        full = sum(1 for t in steps if t not in small)
        factors = [small[t] for t in steps if t in small]
        log_value = full * math.log10(m) + sum(math.log10(f) for f in factors)

        def exact() -> int:
            value = m**full
            for f in factors:
                value *= f
            return value

        return log_value, exact

    (log_s, exact_s), (log_e, exact_e) = side(partition.start), side(partition.end)
    return min(_exact_or_approx(log_s, exact_s), _exact_or_approx(log_e, exact_e))


@dataclass(frozen=True)
class Bounds:
    """All closed forms for one architecture, length and partition (``None``: not applicable).

    ``lower`` and ``upper`` combine the applicable ones into the interval the generic
    rank is proven to lie in. A value is an ``int``, or an :class:`Approx` when it has
    more than :data:`EXACT_DIGITS` digits. ``shallow`` is the depth-1 value and is
    ``None`` for depth >= 2 (see :func:`shallow`). The architecture and length are kept
    so that :meth:`to_dict` describes itself.
    """

    shallow: int | None
    depth2_lower: int | Approx | None
    trivial_upper: int | Approx
    lifted_upper: int | Approx | None
    mincut_upper: int | Approx | None
    partition: str
    copies_upper: int | Approx | None = None
    templates: int | None = None
    hidden: int | None = None
    depth: int | None = None
    length: int | None = None

    @property
    def lower(self) -> int | Approx:
        """The best proven lower bound (at least 1: a generic RAC is not identically zero)."""
        candidates = [1]
        if self.shallow is not None and self.partition == "start-end":
            candidates.append(self.shallow)
        if self.depth2_lower is not None:
            candidates.append(min(self.depth2_lower, self.upper))
        return max(candidates)

    @property
    def upper(self) -> int | Approx:
        """The best upper bound among those that apply."""
        values = [self.trivial_upper, self.shallow, self.lifted_upper, self.mincut_upper, self.copies_upper]
        return min(v for v in values if v is not None)

    def to_dict(self) -> dict:
        """Inputs, named closed forms, ``lower``/``upper`` (JSON-ready: big values as ``"~1.2e+45678"``)."""
        names = ("shallow", "depth2_lower", "trivial_upper", "lifted_upper", "mincut_upper", "partition",
                 "copies_upper")
        return bounded({**{name: getattr(self, name) for name in names}, "lower": self.lower, "upper": self.upper,
                        **{name: getattr(self, name) for name in ("templates", "hidden", "depth", "length")}})


def bounds(spec: RACSpec, length: int, partition: Partition | None = None) -> Bounds:
    """Every closed form for ``spec`` at ``length`` and ``partition``.

    Parameters
    ----------
    spec : RACSpec
    length : int
        T; must be even for the default Start-End partition.
    partition : Partition, optional
        Default: Start-End.

    Notes
    -----
    Cost O(L + T) float operations whatever the sizes: each bound is first evaluated as a
    logarithm and computed exactly only when it has at most :data:`EXACT_DIGITS` digits.

    Examples
    --------
    >>> b = bounds(RACSpec(3, 3, 2), 8)
    >>> b.depth2_lower, b.lifted_upper, b.trivial_upper, b.mincut_upper, b.lower, b.upper
    (15, 45, 81, 243, 15, 45)
    >>> bounds(RACSpec(3, 3, 2), 20000).to_dict()["trivial_upper"]
    '~1.6e+4771'
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
        templates=spec.templates,
        hidden=spec.hidden,
        depth=spec.depth,
        length=length,
    )
