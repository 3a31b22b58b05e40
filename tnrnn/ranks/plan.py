"""One plan for a rank: which route runs, how much memory and time it takes, before any work.

:func:`plan` answers for the router (:func:`tnrnn.generic_rank` plans, then draws), the command
line (``tnrnn rank`` refuses through the same plan) and the tables, which rank each cell
through the router. A :class:`RankPlan` holds the route ``method="auto"`` resolves to, its
predicted peak working memory and a lower estimate of its time, beside the limits in force
(:func:`tnrnn.limits`); :meth:`RankPlan.check` refuses it with a
:class:`~tnrnn.guards.SizeLimitError` that names the sizes and how to raise the limit.

Examples
--------
>>> from tnrnn.rac.circuits import RACSpec
>>> p = plan(RACSpec(2, 2, 3), 24)
>>> p.method, p.memory_bytes <= p.max_bytes, p.fits
('scalable', True, True)
>>> plan(RACSpec(2, 2, 2), 12, method="dense").memory_bytes
43008
"""

from __future__ import annotations

from dataclasses import dataclass

from tnrnn.exact.modular import DEFAULT_PRIME
from tnrnn.guards import SizeLimitError, active_limits, check_rank_work, memory_limit, predicted_rank_seconds
from tnrnn.rac.circuits import RACSpec
from tnrnn.rac.grid import check_grid_size, grid_memory_bytes
from tnrnn.rac.partitions import Partition, parse_partition
from tnrnn.ranks.routes import resolve_method

__all__ = ["RankPlan", "plan"]


@dataclass(frozen=True, kw_only=True)
class RankPlan:
    """What an exact rank of one architecture, length and partition will cost, before it runs.

    Attributes
    ----------
    spec : RACSpec
    partition : Partition
    method : str
        The route that will run (``auto`` resolved).
    draws : int
        Weight draws planned (the router stops early once a draw meets the upper bound).
    memory_bytes : int or None
        Predicted peak working memory of one draw; ``None`` when it is over the limit
        (``refusal`` holds the route's own refusal).
    seconds : float
        A lower estimate of the time of all draws (:func:`tnrnn.guards.predicted_rank_seconds`).
    max_bytes : int
        The memory limit in force.
    max_seconds : float or None
        The time limit in force (``None``: none, as in the library outside a
        :func:`tnrnn.limits` block).
    refusal : str or None
        The route's own refusal when its predicted memory is over the limit, in the words
        the route would raise it.
    """

    spec: RACSpec
    partition: Partition
    method: str
    draws: int
    memory_bytes: int | None
    seconds: float
    max_bytes: int
    max_seconds: float | None
    refusal: str | None = None

    @property
    def fits(self) -> bool:
        """Whether the plan is within every limit in force."""
        over_time = self.max_seconds is not None and self.seconds > self.max_seconds
        return self.refusal is None and not over_time

    def check(self) -> RankPlan:
        """Return the plan if it fits, else raise :class:`~tnrnn.guards.SizeLimitError`.

        Examples
        --------
        >>> from tnrnn.rac.circuits import RACSpec
        >>> plan(RACSpec(2, 2, 2), 30, method="dense", max_bytes=2**30).check()
        Traceback (most recent call last):
        ...
        tnrnn.guards.SizeLimitError: a dense grid tensor for M=2, R=2, L=2, T=30 has ...
        """
        if self.refusal is not None:
            raise SizeLimitError(self.refusal)
        if self.max_seconds is not None:
            check_rank_work(self.spec.depth, self.partition.length, self.draws, self.max_seconds)
        return self


def _memory(spec: RACSpec, partition: Partition, method: str, prime: int, max_bytes: int) -> int:
    """The route's predicted peak memory; its own guard raises where that is over ``max_bytes``."""
    length, k = partition.length, partition.prefix_length
    if method == "dense":
        check_grid_size(spec.templates, spec.hidden, spec.depth, length, max_bytes)
        return grid_memory_bytes(spec.templates, spec.hidden, spec.depth, length)
    if method == "tn":
        if spec.depth == 1 and k is not None:  # environment bases: R vectors of length R per step
            return 8 * spec.hidden * spec.hidden * (spec.templates + 2)
        from tnrnn.ranks.network import check_matrix_size

        check_matrix_size(spec, partition, max_bytes)
        return 8 * spec.templates**length  # the contracted matricization (intermediates come on top)
    if method == "scalable":
        from tnrnn.ranks.scalable import contiguous_cut, scalable_plan

        return scalable_plan(spec, length, contiguous_cut(partition), max_bytes, prime=prime).predicted_bytes
    if method == "lifted":
        from tnrnn.ranks.lifted import check_lifted_size

        return check_lifted_size(spec, partition, prime, max_bytes)[0]
    return 0  # a route registered by a user: it guards its own memory


def plan(spec: RACSpec, length: int, partition: Partition | str | None = None, *, method: str = "auto",
         draws: int = 3, prime: int = DEFAULT_PRIME, max_bytes: int | None = None,
         max_seconds: float | None = None) -> RankPlan:
    """Which route ranks ``[A]_{S,E}``, with what memory and time, and the limits in force.

    Parameters
    ----------
    spec : RACSpec
    length : int
    partition : Partition or str, optional
        Default ``"start-end"``.
    method : str
        ``auto`` or a registered route (:data:`tnrnn.ranks.routes.EXACT_METHODS`).
    draws : int
        Weight draws.
    prime : int
        The modulus of the draws (the memory of some routes depends on it).
    max_bytes, max_seconds : optional
        Limits for this call; default the innermost :func:`tnrnn.limits` block, then
        ``TNRNN_MAX_BYTES`` or 4 GiB, and no time limit.

    Returns
    -------
    RankPlan
        Never raises for a cost over the limits (see :meth:`RankPlan.check`).

    Raises
    ------
    ValueError
        An unknown method, a partition that does not fit the length or that the route
        cannot rank (the scalable and lifted routes need a contiguous cut), or an unusable
        ``TNRNN_MAX_BYTES``.

    Notes
    -----
    Cheap: integer arithmetic, the closed-form bounds and, for the scalable route, its own
    plan (no weights are drawn and nothing of size ``M^T`` is built).
    """
    partition = parse_partition("start-end" if partition is None else partition, length)
    limit = memory_limit(max_bytes)
    seconds_limit = max_seconds if max_seconds is not None else active_limits().max_seconds
    memory, refusal = None, None
    try:
        chosen = resolve_method(method, spec, partition, limit)
    except SizeLimitError as error:  # auto on a partition only the dense route takes, over the limit
        chosen, refusal = "dense", str(error)
    if refusal is None:
        try:
            memory = _memory(spec, partition, chosen, prime, limit)
        except SizeLimitError as error:  # the route predicted its own cost over the limit
            refusal = str(error)
    return RankPlan(spec=spec, partition=partition, method=chosen, draws=draws, memory_bytes=memory,
                    seconds=predicted_rank_seconds(spec.depth, length, draws), max_bytes=limit,
                    max_seconds=seconds_limit, refusal=refusal)
