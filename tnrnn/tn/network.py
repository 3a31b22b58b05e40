"""Compile a RAC into a quimb tensor network, view it as a graph, bound ranks by min-cut.

The network of a depth-L RAC over T time steps::

    depth 1 (a tensor train whose bonds are hyperedges, for the element-wise product):

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
(another hyperedge).

Using the network with quimb
----------------------------
Because of the hyperedges, quimb cannot guess which indices are open: ``tn.outer_inds()``
lists only the indices that happen to appear once, and a bare ``tn.contract()`` refuses
indices that appear more than twice. Name the open indices with :func:`output_inds`:

* grid tensor (axes ``x0 .. x{T-1}``, each of dim M)::

      tn.contract(output_inds=output_inds(T)).data

* the output ``y`` for feature vectors ``f(x_t)`` (one row per time step): :func:`with_inputs`
  gives every use of input t its own copy of ``f(x_t)``; contract everything::

      with_inputs(tn, features).contract(output_inds=())

* a network with no hyperedges, for tools that expect every index on at most two tensors:
  ``tensor_network(weights, T, hyperedges=False)`` inserts quimb COPY tensors; its
  ``outer_inds()`` are exactly the input indices and a bare ``tn.contract()`` works;

* depth 1 as a real :class:`quimb.tensor.MatrixProductState` (site index ``x{t}``, bond
  dimension R): :func:`to_mps`;

* drawing with quimb's own layout: ``tn.draw(fix=tnrnn.tn.draw.quimb_positions(spec, T))``.

Naming (time steps are 0-based, as in :mod:`tnrnn.rac.partitions`; layers are 1-based):

* open input index of time t: ``x{t}``;
* state index of copy c of ``h^l_t``: ``h{l}_{t}_c{c}``;
* tags: ``T{t}``, ``L{l}``, ``C{c}`` and the role ``INPUT``, ``HIDDEN`` or ``OUTPUT``
  (``COPY`` for the COPY tensors of ``hyperedges=False``, ``FEATURE`` for input vectors).
  The four tags of a weight tensor identify it uniquely.

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
from tnrnn.guards import SizeLimitError
from tnrnn.rac.circuits import RACSpec, RACWeights
from tnrnn.rac.partitions import Partition, parse_partition

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
    "output_inds",
    "with_inputs",
    "to_mps",
]

#: Default limit on the number of tensors of a compiled network.
DEFAULT_MAX_TENSORS = 200_000


#: Another name of :class:`tnrnn.guards.SizeLimitError`, kept for code written against 0.1.
NetworkTooLargeError = SizeLimitError


def input_index(t: int) -> str:
    """Name of the open input index of time step ``t`` (0-based).

    Examples
    --------
    >>> input_index(3)
    'x3'
    """
    return f"x{t}"


def output_inds(length: int) -> tuple[str, ...]:
    """The open indices ``("x0", ..., "x{T-1}")`` of a network over ``length`` steps.

    ``tn.contract(output_inds=output_inds(T))`` is the grid tensor, axes in time order.

    Examples
    --------
    >>> output_inds(3)
    ('x0', 'x1', 'x2')
    """
    return tuple(input_index(t) for t in range(_check_length(length)))


def with_inputs(tn: qtn.TensorNetwork, features) -> qtn.TensorNetwork:
    """The network with feature vectors ``f(x_t)`` plugged into every use of each input.

    A deep RAC uses input t in several duplicated sub-networks, and each use needs its own
    copy of ``f(x_t)`` (the RAC is a polynomial of degree > 1 in the features for depth > 1,
    not a multilinear function of one vector per index). This returns a copy of ``tn`` in
    which every tensor carrying ``x{t}`` gets its own vector tensor (tags ``FEATURE``,
    ``T{t}``); contracting everything gives the RAC's output::

        with_inputs(tn, features).contract(output_inds=())

    One-hot rows give one entry of the grid tensor.

    Parameters
    ----------
    tn : quimb.tensor.TensorNetwork
        From :func:`tensor_network` with ``hyperedges=True`` (the default).
    features : array_like, shape (T, M)
        Row t is the feature vector of time t.

    Raises
    ------
    ValueError
        For a features array of the wrong shape, or a network made with ``hyperedges=False``
        (its COPY tensors would feed the same vector to every use at once).

    Examples
    --------
    >>> from tnrnn.rac.circuits import evaluate_features
    >>> w = RACWeights.gaussian(RACSpec(2, 3, 2), seed=0)
    >>> f = np.random.default_rng(0).normal(size=(4, 2))
    >>> y = with_inputs(tensor_network(w, 4), f).contract(output_inds=())
    >>> bool(np.isclose(y, evaluate_features(w, f[None])[0]))
    True
    """
    import quimb.tensor as qtn

    features = np.asarray(features)
    length = len([ix for ix in tn.ind_map if ix.startswith("x") and ix[1:].isdigit()])
    if features.ndim != 2 or features.shape[0] != length:
        raise ValueError(f"features must have shape ({length}, M), one row per time step, got {features.shape}")
    if "COPY" in tn.tag_map:
        raise ValueError("plug inputs into a network built with hyperedges=True (the default)")
    out = tn.copy()
    for t in range(length):
        ix = input_index(t)
        for j, tid in enumerate(sorted(out.ind_map[ix])):
            out.tensor_map[tid].reindex_({ix: f"{ix}.f{j}"})
            out.add_tensor(qtn.Tensor(features[t], inds=(f"{ix}.f{j}",), tags=("FEATURE", f"T{t}")), virtual=True)
    return out


def to_mps(weights: RACWeights, length: int) -> qtn.MatrixProductState:
    """A depth-1 RAC as a :class:`quimb.tensor.MatrixProductState` (site indices ``x{t}``, bond dim R).

    Site t holds ``A_t[a, r, m] = W^H[r, a] W^I[r, m]`` (the element-wise product folded into
    one tensor); the first site is ``W^I`` (the initial state convention ``W^H h_0 = 1``) and
    the last absorbs the readout ``W^O``. ``to_mps(w, T).to_dense()`` is the flattened grid
    tensor, and every quimb MPS method (canonical forms, Schmidt values at a bond, ...) applies.

    Parameters
    ----------
    weights : RACWeights
        Real weights of depth 1.
    length : int
        T, at least 2.

    Raises
    ------
    ValueError
        For depth > 1 (a deep RAC is a tree of duplicated sub-networks, not an MPS), modular
        weights, or ``length < 2``.

    Examples
    --------
    >>> from tnrnn.rac.grid import grid_tensor
    >>> w = RACWeights.gaussian(RACSpec(2, 3, 1), seed=0)
    >>> mps = to_mps(w, 5)
    >>> mps.L, mps.max_bond()
    (5, 3)
    >>> bool(np.allclose(mps.to_dense().reshape((2,) * 5), grid_tensor(w, 5)))
    True
    """
    import quimb.tensor as qtn

    if weights.spec.depth != 1:
        raise ValueError(f"only a depth-1 RAC is an MPS, got depth {weights.spec.depth}; "
                         "use tensor_network() for deeper ones")
    if weights.modulus is not None:
        raise ValueError("to_mps needs real weights (an MPS of residues would overflow in quimb's float math)")
    length = _check_length(length)
    if length < 2:
        raise ValueError(f"to_mps needs length >= 2, got {length}")
    w_in, w_h, w_out = (np.asarray(a, dtype=np.float64) for a in (weights.input[0], weights.hidden[0],
                                                                   weights.output))
    middle = np.einsum("ra,rm->arm", w_h, w_in)  # (left a, right r, physical m)
    arrays = [w_in]  # (right r, physical m)
    arrays += [middle] * (length - 2)
    arrays.append(np.einsum("r,ra,rm->am", w_out, w_h, w_in))  # (left a, physical m)
    return qtn.MatrixProductState(arrays, shape="lrp", site_ind_id="x{}", site_tag_id="T{}")


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
            f"{spec.templates**length:.3g} entries; use a shorter length, a smaller depth, "
            f"or method='scalable' (`tnrnn rank --method scalable`)"
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
        Every tensor; the order is the operand order of :mod:`tnrnn.tn.contract`.
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


def tensor_network(weights: RACWeights, length: int, *, hyperedges: bool = True,
                   max_tensors: int | None = None) -> qtn.TensorNetwork:
    """Compile a RAC with one-hot inputs into a quimb ``TensorNetwork``.

    Parameters
    ----------
    weights : RACWeights
        Real (float64) or modular (int64) weights. quimb contracts modular data in plain
        int64 without reductions; use :mod:`tnrnn.tn.contract` for exact results.
    length : int
        T.
    hyperedges : bool
        ``True`` (default): states and inputs are hyperedges, as described in the module
        docstring; contract with ``output_inds=output_inds(T)``. ``False``: every hyperedge
        is replaced by a chain of order-3 COPY tensors (tag ``COPY``), so every index is on
        at most two tensors, ``tn.outer_inds()`` are the input indices and a bare
        ``tn.contract()`` gives the grid tensor (transpose it with
        ``.transpose(*output_inds(T))`` for time order).
    max_tensors : int, optional
        Size guard, default :data:`DEFAULT_MAX_TENSORS`.

    Returns
    -------
    quimb.tensor.TensorNetwork
        Open indices ``x0 .. x{T-1}`` (dim M), see :func:`output_inds`.

    Raises
    ------
    NetworkTooLargeError
        Before building, with the predicted number of tensors.

    Examples
    --------
    >>> from tnrnn.rac.grid import grid_tensor
    >>> w = RACWeights.gaussian(RACSpec(2, 2, 2), seed=0)
    >>> tn = tensor_network(w, 3)
    >>> a = tn.contract(output_inds=["x0", "x1", "x2"]).data
    >>> bool(np.allclose(a, grid_tensor(w, 3)))
    True
    >>> len(tn.select_tensors(["INPUT", "L1"], which="all"))  # x_t appears C(T-t, 1) times
    6
    >>> plain = tensor_network(w, 3, hyperedges=False)
    >>> sorted(plain.outer_inds())
    ['x0', 'x1', 'x2']
    >>> bool(np.allclose(plain.contract().transpose(*output_inds(3)).data, a))
    True
    """
    import quimb.tensor as qtn

    structure = network_structure(weights.spec, _check_length(length), max_tensors)
    tensors = [qtn.Tensor(np.array(slot.data(weights)), inds=slot.inds, tags=slot.tags)
               for slot in structure.slots]
    tn = qtn.TensorNetwork(tensors, virtual=True)
    if not hyperedges:
        _resolve_hyperedges(tn, set(structure.input_inds))
    return tn


def _resolve_hyperedges(tn, open_inds: set[str]) -> None:
    """Replace (in place) every index on more than two tensors, and every open index on more
    than one, by a chain of order-3 COPY tensors; open indices keep their name on the chain."""
    import quimb.tensor as qtn

    for ix, tids in list(tn.ind_map.items()):
        is_open = ix in open_inds
        if len(tids) <= (1 if is_open else 2):
            continue
        dim, legs = tn.ind_size(ix), []
        for j, tid in enumerate(sorted(tids)):
            tn.tensor_map[tid].reindex_({ix: f"{ix}.{j}"})
            legs.append(f"{ix}.{j}")
        if is_open:
            legs.append(ix)
        dtype = next(iter(tn.tensor_map.values())).dtype
        # a chain of order-3 COPY tensors: legs[0], legs[1] -> b0; b0, legs[2] -> b1; ...
        left = legs[0]
        for j, leg in enumerate(legs[1:-1]):
            right = legs[-1] if j == len(legs) - 3 else f"{ix}.b{j}"
            tn.add_tensor(qtn.COPY_tensor(dim, (left, leg, right), tags=("COPY",), dtype=dtype), virtual=True)
            left = right


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
