"""Compile a RAC into a quimb tensor network, view it as a graph, bound ranks by min-cut.

The network of a depth-L RAC over T time steps (SCIENCE.md §7)::

    depth 1 (an MPS with hyperedges for the element-wise product):

        x0        x1        x2              open input indices (one-hot templates)
        |         |         |
      [W^I]     [W^I]     [W^I]             INPUT  tensors, (R, M)
        |         |         |
        h1_0 ---[W^H]-h1_1 -[W^H]- h1_2 --[W^O]     HIDDEN (R, R), OUTPUT (R,)

Every state ``h^l_t`` is an index shared by the tensor that consumes it and by the two
tensors that produce it (``W^{H,l}`` and ``W^{I,l}``, both indexed by the state's
coordinate): a hyperedge, which is exactly the element-wise product ``(W^H h) * (W^I h')``.
For depth L > 1, ``h^{l-1}_t`` feeds both layer l at t and layer l-1 at t+1, and a tensor
network cannot copy a vector: every use gets its own copy of the lower sub-network. The
network is then a tree of tensors whose leaves are the input tensors, and the open input
index ``x{t}`` of time t is shared by all ``C(T-1-t+L-1, L-1)`` copies of ``h^1_t``
(another hyperedge; contract with ``output_inds``).

Naming (time steps are 0-based, as in :mod:`tnrnn.partitions`; layers are 1-based):

* open input index of time t: ``x{t}``;
* state index of copy c of ``h^l_t``: ``h{l}_{t}_c{c}``;
* tags: ``T{t}``, ``L{l}``, ``C{c}`` and the role ``INPUT``, ``HIDDEN`` or ``OUTPUT``.

The structure does not depend on the weights: :func:`network_structure` builds it once
(cached) and :func:`tensor_network` fills in the weights.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from math import comb
from typing import TYPE_CHECKING

import numpy as np

from tnrnn._validation import positive_int
from tnrnn.circuits import RACSpec, RACWeights
from tnrnn.partitions import Partition, parse_partition

if TYPE_CHECKING:
    import networkx as nx
    import quimb.tensor as qtn

__all__ = [
    "DEFAULT_MAX_TENSORS",
    "NetworkTooLargeError",
    "TensorSlot",
    "NetworkStructure",
    "MinCut",
    "copies",
    "predicted_tensors",
    "check_network_size",
    "network_structure",
    "tensor_network",
    "to_networkx",
    "mincut_bound",
    "input_index",
]

#: Default limit on the number of tensors of a compiled network.
DEFAULT_MAX_TENSORS = 200_000


class NetworkTooLargeError(ValueError):
    """A tensor network (or one of its contractions) would exceed a size limit."""


def input_index(t: int) -> str:
    """Name of the open input index of time step ``t`` (0-based).

    Examples
    --------
    >>> input_index(3)
    'x3'
    """
    return f"x{t}"


def copies(depth: int, length: int, layer: int, t: int) -> int:
    """Number of copies of ``h^layer_t`` in the duplicated network: ``C(T-1-t + L-l, L-l)``.

    Every copy is one monotone path of uses from ``(layer, t)`` to the output at
    ``(L, T-1)``; for ``layer = 1`` it is also how often ``x_t`` appears.

    Examples
    --------
    >>> [copies(2, 4, 1, t) for t in range(4)]
    [4, 3, 2, 1]
    """
    return comb(length - 1 - t + depth - layer, depth - layer)


def predicted_tensors(spec: RACSpec, length: int) -> int:
    """Number of tensors of the compiled network (one INPUT per state copy, one HIDDEN per
    copy with t > 0, one OUTPUT).

    Examples
    --------
    >>> predicted_tensors(RACSpec(2, 3, 1), 5)
    10
    """
    total = 1
    for layer in range(1, spec.depth + 1):
        for t in range(length):
            total += copies(spec.depth, length, layer, t) * (2 if t > 0 else 1)
    return total


def check_network_size(spec: RACSpec, length: int, max_tensors: int | None = None) -> int:
    """Raise :class:`NetworkTooLargeError` before building a network that is too large.

    Returns
    -------
    int
        The predicted number of tensors.

    Raises
    ------
    NetworkTooLargeError
        With the predicted number of tensors and the size of the largest intermediate
        of a full contraction (at least the ``M^T`` entries of the grid tensor).
    """
    _check_length(length)
    limit = DEFAULT_MAX_TENSORS if max_tensors is None else max_tensors
    count = predicted_tensors(spec, length)
    if count > limit:
        raise NetworkTooLargeError(
            f"the duplicated tensor network of M={spec.templates}, R={spec.hidden}, L={spec.depth}, "
            f"T={length} has {count:,} tensors (over max_tensors={limit:,}); a full contraction "
            f"to the grid tensor has a largest intermediate of at least M^T = "
            f"{spec.templates**length:.3g} entries. Use a shorter length, a smaller depth, "
            f"or method='scalable'."
        )
    return count


def _check_length(length) -> int:
    return positive_int(length, "length")


@dataclass(frozen=True)
class TensorSlot:
    """One tensor of the network, without its data.

    Attributes
    ----------
    role : str
        ``INPUT`` (``W^{I,layer}``), ``HIDDEN`` (``W^{H,layer}``) or ``OUTPUT`` (``W^O``).
    layer, time, copy : int
        Layer (1-based), time step (0-based), copy number of the state it produces.
    inds : tuple of str
        Index names, in the axis order of the weight matrix (row = produced state).
    """

    role: str
    layer: int
    time: int
    copy: int
    inds: tuple[str, ...]

    @property
    def tags(self) -> tuple[str, ...]:
        """quimb tags: role, time, layer and copy."""
        return (self.role, f"T{self.time}", f"L{self.layer}", f"C{self.copy}")

    def data(self, weights: RACWeights) -> np.ndarray:
        """The weight array this slot holds."""
        if self.role == "INPUT":
            return weights.input[self.layer - 1]
        if self.role == "HIDDEN":
            return weights.hidden[self.layer - 1]
        return weights.output


@dataclass(frozen=True)
class NetworkStructure:
    """The weight-independent structure of a compiled RAC network.

    Attributes
    ----------
    spec : RACSpec
    length : int
    slots : tuple of TensorSlot
        Every tensor; the order is the operand order of :mod:`tnrnn.contract`.
    """

    spec: RACSpec
    length: int
    slots: tuple[TensorSlot, ...]

    @property
    def input_inds(self) -> tuple[str, ...]:
        """The open indices ``x0 .. x{T-1}``."""
        return tuple(input_index(t) for t in range(self.length))

    def size_dict(self) -> dict[str, int]:
        """Dimension of every index."""
        sizes = {name: self.spec.templates for name in self.input_inds}
        for slot in self.slots:
            for name in slot.inds:
                sizes.setdefault(name, self.spec.hidden)
        return sizes


@functools.lru_cache(maxsize=64)
def network_structure(spec: RACSpec, length: int, max_tensors: int | None = None) -> NetworkStructure:
    """Build (and cache) the structure of the duplicated network of ``spec`` over ``length`` steps.

    Raises
    ------
    NetworkTooLargeError
        Before building, if the network would have more than ``max_tensors`` tensors.

    Notes
    -----
    O(number of tensors) = O(T^L) time and memory.

    Examples
    --------
    >>> s = network_structure(RACSpec(2, 3, 2), 3)
    >>> len(s.slots) == predicted_tensors(RACSpec(2, 3, 2), 3)
    True
    """
    length = _check_length(length)
    check_network_size(spec, length, max_tensors)
    counters: dict[tuple[int, int], int] = {}
    slots: list[TensorSlot] = []
    top = _new_copy(counters, spec.depth, length - 1)
    slots.append(TensorSlot("OUTPUT", spec.depth, length - 1, 0, (top[2],)))
    stack = [top]
    while stack:  # iterative: depth-1 chains are thousands of steps long
        layer, t, name, copy = stack.pop()
        if layer == 1:
            below = input_index(t)
        else:
            child = _new_copy(counters, layer - 1, t)
            below = child[2]
            stack.append(child)
        slots.append(TensorSlot("INPUT", layer, t, copy, (name, below)))
        if t > 0:
            child = _new_copy(counters, layer, t - 1)
            slots.append(TensorSlot("HIDDEN", layer, t, copy, (name, child[2])))
            stack.append(child)
    return NetworkStructure(spec, length, tuple(slots))


def _new_copy(counters, layer, t):
    copy = counters.get((layer, t), 0)
    counters[(layer, t)] = copy + 1
    return layer, t, f"h{layer}_{t}_c{copy}", copy


def tensor_network(weights: RACWeights, length: int, *, max_tensors: int | None = None) -> qtn.TensorNetwork:
    """Compile a RAC with one-hot inputs into a quimb ``TensorNetwork``.

    Parameters
    ----------
    weights : RACWeights
        Real (float64) or modular (int64) weights. quimb contracts modular data in plain
        int64 without reductions; use :mod:`tnrnn.contract` for exact results.
    length : int
        T.
    max_tensors : int, optional
        Size guard, default :data:`DEFAULT_MAX_TENSORS`.

    Returns
    -------
    quimb.tensor.TensorNetwork
        Open indices ``x0 .. x{T-1}`` (dim M); contracting with
        ``output_inds=[f"x{t}" for t in range(T)]`` gives the grid tensor.

    Raises
    ------
    NetworkTooLargeError
        Before building, with the predicted number of tensors.

    Examples
    --------
    >>> from tnrnn.grid import grid_tensor
    >>> w = RACWeights.gaussian(RACSpec(2, 2, 2), seed=0)
    >>> tn = tensor_network(w, 3)
    >>> a = tn.contract(output_inds=["x0", "x1", "x2"]).data
    >>> bool(np.allclose(a, grid_tensor(w, 3)))
    True
    >>> len(tn.select_tensors(["INPUT", "L1"], which="all"))  # x_t appears C(T-t, 1) times
    6
    """
    import quimb.tensor as qtn

    structure = network_structure(weights.spec, _check_length(length), max_tensors)
    tensors = [qtn.Tensor(np.array(slot.data(weights)), inds=slot.inds, tags=slot.tags)
               for slot in structure.slots]
    return qtn.TensorNetwork(tensors, virtual=True)


def to_networkx(structure: NetworkStructure | qtn.TensorNetwork) -> nx.Graph:
    """A networkx view of the network: tensors and hyperedges as nodes.

    Nodes are ``("tensor", i)`` (attributes ``role``, ``time``, ``layer``, ``copy``, ``tags``)
    for every tensor, and ``("index", name)`` for every index shared by more than two
    tensors or open (a hyperedge). An index on exactly two tensors is an edge between them;
    a hyperedge connects its node to each of its tensors. Every edge carries ``ind``,
    ``dim`` and ``capacity = log(dim)``.

    Examples
    --------
    >>> g = to_networkx(network_structure(RACSpec(2, 3, 1), 3))
    >>> sum(1 for n, d in g.nodes(data=True) if d["kind"] == "tensor")
    6
    """
    import networkx as nx

    tensors = _tensor_records(structure)
    sizes: dict[str, int] = {}
    where: dict[str, list[int]] = {}
    graph = nx.Graph()
    for i, (tags, inds, shape) in enumerate(tensors):
        role = next((t for t in tags if t in ("INPUT", "HIDDEN", "OUTPUT")), None)
        graph.add_node(("tensor", i), kind="tensor", role=role, tags=tuple(tags),
                       time=_tag_int(tags, "T"), layer=_tag_int(tags, "L"), copy=_tag_int(tags, "C"))
        for name, dim in zip(inds, shape):
            sizes[name] = dim
            where.setdefault(name, []).append(i)
    for name, owners in where.items():
        attrs = {"ind": name, "dim": sizes[name], "capacity": math.log(sizes[name])}
        if len(owners) == 2 and not name.startswith("x"):
            graph.add_edge(("tensor", owners[0]), ("tensor", owners[1]), **attrs)
        else:
            graph.add_node(("index", name), kind="index", open=name.startswith("x"), dim=sizes[name])
            for i in owners:
                graph.add_edge(("tensor", i), ("index", name), **attrs)
    return graph


def _tag_int(tags, prefix):
    for tag in tags:
        if tag.startswith(prefix) and tag[1:].isdigit():
            return int(tag[1:])
    return None


def _tensor_records(structure):
    if isinstance(structure, NetworkStructure):
        sizes = structure.size_dict()
        return [(slot.tags, slot.inds, tuple(sizes[n] for n in slot.inds)) for slot in structure.slots]
    return [(tuple(t.tags), tuple(t.inds), tuple(t.shape)) for t in structure.tensors]


@dataclass(frozen=True)
class MinCut:
    """The min-cut bound of a network between the S and E input legs.

    Attributes
    ----------
    value : int
        Product of the dimensions of the cut bonds: an upper bound on the rank of
        ``[A]_{S,E}`` for every weight setting.
    cut_inds : tuple of str
        The bonds (indices) of one minimum cut.
    log_value : float
        ``log(value)``, the cut capacity.
    """

    value: int
    cut_inds: tuple[str, ...]
    log_value: float


def mincut_bound(structure: NetworkStructure | qtn.TensorNetwork, partition: Partition | str) -> MinCut:
    """Min-cut between the open legs of S and those of E, by max-flow (networkx).

    Each index is a unit that can be cut at cost ``log(dim)`` (a hyperedge is cut once,
    whatever its degree: it becomes a node pair ``in -> out`` with that capacity, and
    infinite arcs from and to its tensors). Tensors cannot be cut; the open input legs
    ``x_t`` are tied to the source (t in S) or the sink (t in E).

    Parameters
    ----------
    structure : NetworkStructure or quimb.tensor.TensorNetwork
    partition : Partition or str
        Of the network's time steps.

    Returns
    -------
    MinCut
        ``value = exp(min cut)``, computed exactly as a product of bond dimensions.

    Notes
    -----
    Preflow-push max-flow on O(n) nodes and arcs for n tensors: O(n^2 sqrt(n)) worst case.

    Examples
    --------
    >>> mincut_bound(network_structure(RACSpec(2, 3, 2), 6), "start-end").value  # R^(T/2+1)
    81
    """
    import networkx as nx

    tensors = _tensor_records(structure)
    times = sorted({int(n[1:]) for _, inds, _ in tensors for n in inds if n.startswith("x")})
    length = len(times)
    partition = parse_partition(partition, length)
    side = {input_index(t): "source" for t in partition.start}
    side.update({input_index(t): "sink" for t in partition.end})
    scale = 2**20  # integer capacities keep max-flow exact
    graph = nx.DiGraph()
    sizes: dict[str, int] = {}
    for i, (_, inds, shape) in enumerate(tensors):
        for name, dim in zip(inds, shape):
            sizes[name] = dim
            if name in side:
                if side[name] == "source":
                    graph.add_edge("source", ("t", i))
                else:
                    graph.add_edge(("t", i), "sink")
            else:
                graph.add_edge(("t", i), ("in", name))
                graph.add_edge(("out", name), ("t", i))
    for name, dim in sizes.items():
        if name not in side:
            graph.add_edge(("in", name), ("out", name), capacity=max(1, round(math.log(dim) * scale)))
    _, (reachable, _) = nx.minimum_cut(graph, "source", "sink")
    cut = tuple(sorted(n for n in sizes if n not in side and ("in", n) in reachable
                       and ("out", n) not in reachable))
    value = math.prod(sizes[n] for n in cut)
    return MinCut(value, cut, math.log(value) if value else 0.0)
