"""Diagrams of compiled RAC tensor networks (matplotlib, fixed positions).

Time runs left to right; each chain of one layer (the top layer once, every copy of a
lower layer's chain once per use) is one row, upper layers on top and the copies of a
lower chain stacked under the layer that uses them. Tensors of the start set S and the
end set E have two colours; the bonds of a minimum S/E cut (:func:`tnrnn.tn.network.mincut_bound`)
are drawn thick in vermillion (orange-red). Open input legs ``x_t`` end on labelled terminals at the bottom.

The same positions drive quimb's own drawing: :func:`quimb_positions` gives a ``fix``
mapping for :meth:`quimb.tensor.TensorNetwork.draw`::

    tn = tnrnn.tensor_network(weights, T)
    tn.draw(fix=quimb_positions(weights.spec, T), output_inds=output_inds(T))
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from tnrnn.rac.circuits import RACSpec
from tnrnn.rac.partitions import Partition, parse_partition
from tnrnn.tn.network import mincut_bound, network_structure

if TYPE_CHECKING:
    import matplotlib.figure

__all__ = ["draw_network", "network_layout", "quimb_positions", "MAX_DRAW_TENSORS"]

#: Diagrams with more tensors than this are refused (they would be unreadable).
MAX_DRAW_TENSORS = 600

# Okabe-Ito (tnrnn.style): blue for S, orange for E, vermillion for the cut
_S_COLOUR, _E_COLOUR, _CUT_COLOUR = "#0072B2", "#E69F00", "#D55E00"


def network_layout(spec: RACSpec, length: int) -> tuple[dict[int, tuple[float, float]], dict[str, tuple]]:
    """Positions of the tensors and of the state (hyperedge) vertices of the network.

    Returns
    -------
    tensor_xy : dict
        Slot number (in :func:`tnrnn.tn.network.network_structure` order) -> (x, y).
    index_xy : dict
        State index name -> (x, y) of its hyperedge vertex, and ``x{t}`` -> its terminal.

    Examples
    --------
    >>> xy, ind = network_layout(RACSpec(2, 2, 1), 3)
    >>> sorted(round(x) for x, _ in ind.values() if _ < -1)  # the three input terminals
    [0, 1, 2]
    """
    structure = network_structure(spec, length)
    slots = structure.slots
    producers: dict[str, list[int]] = {}
    consumer: dict[str, int] = {}
    for i, slot in enumerate(slots):
        if slot.role != "OUTPUT":
            producers.setdefault(slot.inds[0], []).append(i)
        for name in slot.inds[1:] if slot.role != "OUTPUT" else slot.inds:
            consumer[name] = i
    # a chain is a maximal run of one layer joined by HIDDEN tensors; its top state is
    # consumed by an INPUT tensor of the layer above (or by the OUTPUT)
    row_of: dict[str, int] = {}
    rows: list[str] = []

    def visit(top: str) -> None:
        rows.append(top)
        name = top
        chain = []
        while True:
            row_of[name] = len(rows) - 1
            chain.append(name)
            hidden = [i for i in producers[name] if slots[i].role == "HIDDEN"]
            if not hidden:
                break
            name = slots[hidden[0]].inds[1]
        for name in reversed(chain):  # lower chains used later in time are stacked higher
            inputs = [i for i in producers[name] if slots[i].role == "INPUT"]
            below = slots[inputs[0]].inds[1]
            if not below.startswith("x"):
                visit(below)

    root = slots[0].inds[0]
    visit(root)
    index_xy: dict[str, tuple] = {}
    tensor_xy: dict[int, tuple[float, float]] = {}
    for name, row in row_of.items():
        t = slots[producers[name][0]].time
        index_xy[name] = (t + 0.2, -row)
    for i, slot in enumerate(slots):
        if slot.role == "OUTPUT":
            tensor_xy[i] = (length - 1 + 0.65, -row_of[slot.inds[0]])
        else:
            x, y = index_xy[slot.inds[0]]
            tensor_xy[i] = (x - 0.55, y) if slot.role == "HIDDEN" else (x - 0.2, y - 0.42)
    bottom = -len(rows) - 0.2
    for t in range(length):
        index_xy[f"x{t}"] = (t, bottom)
    return tensor_xy, index_xy


def quimb_positions(spec: RACSpec, length: int) -> dict:
    """Positions for ``tn.draw(fix=...)`` of the quimb network of :func:`tnrnn.tensor_network`.

    Keys are what quimb's ``fix`` accepts: the tag tuple that identifies each weight tensor
    (role, ``T{t}``, ``L{l}``, ``C{c}``) and the names of the state and input indices
    (quimb draws a hyperedge as a node). Values are ``(x, y)``: time left to right, upper
    layers on top, as in :func:`draw_network`.

    Examples
    --------
    >>> pos = quimb_positions(RACSpec(2, 2, 1), 3)
    >>> pos[("OUTPUT", "T2", "L1", "C0")][0] > pos[("INPUT", "T0", "L1", "C0")][0]
    True
    >>> sorted(k for k in pos if isinstance(k, str) and k.startswith("x"))
    ['x0', 'x1', 'x2']
    """
    tensor_xy, index_xy = network_layout(spec, length)
    slots = network_structure(spec, length).slots
    positions: dict = {slots[i].tags: xy for i, xy in tensor_xy.items()}
    positions.update(index_xy)
    return positions


def draw_network(spec: RACSpec, length: int, partition: Partition | str = "start-end", *,
                 out: str | Path | None = None, show_cut: bool = True,
                 max_tensors: int = MAX_DRAW_TENSORS) -> matplotlib.figure.Figure:
    """Draw the duplicated tensor network of a RAC architecture.

    Parameters
    ----------
    spec : RACSpec
        The architecture (the diagram does not depend on the weights).
    length : int
        T; keep it small (about 4 to 8) for a legible picture.
    partition : Partition or str
        Colours tensors of S and E, and selects the min-cut to highlight.
    out : str or Path, optional
        Save the figure there; PNG or SVG by suffix.
    show_cut : bool
        Highlight the bonds of a minimum S/E cut.
    max_tensors : int
        Refuse larger networks (unreadable).

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ValueError
        For a network with more than ``max_tensors`` tensors, or an output suffix other
        than ``.png`` / ``.svg``.

    Examples
    --------
    >>> fig = draw_network(RACSpec(2, 2, 1), 4)
    >>> fig.axes[0].get_title().startswith("RAC tensor network")
    True
    """
    if out is not None and Path(out).suffix.lower() not in (".png", ".svg"):
        raise ValueError(f"out must end in .png or .svg, got {str(out)!r}")
    structure = network_structure(spec, length, max_tensors)  # refuses huge networks first
    if len(structure.slots) > max_tensors:
        raise ValueError(f"the network has {len(structure.slots)} tensors, more than max_tensors="
                         f"{max_tensors} for a legible diagram: use a shorter length or smaller depth")
    partition = parse_partition(partition, length)
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    tensor_xy, index_xy = network_layout(spec, length)
    slots = structure.slots
    cut = mincut_bound(structure, partition) if show_cut else None
    cut_inds = set(cut.cut_inds) if cut else set()
    in_start = set(partition.start)
    n_rows = max(1, round(-min(y for _, y in index_xy.values())))
    fig = Figure(figsize=(1.5 + 1.3 * length, 1.6 + 0.62 * n_rows))  # no pyplot: no global state
    ax = fig.subplots()

    def bond(a, b, name, **style):
        highlighted = name in cut_inds
        ax.plot([a[0], b[0]], [a[1], b[1]], color=_CUT_COLOUR if highlighted else style.pop("color", "0.35"),
                lw=3.2 if highlighted else style.pop("lw", 1.1), zorder=1 if not highlighted else 2, **style)

    for i, slot in enumerate(slots):
        here = tensor_xy[i]
        if slot.role == "OUTPUT":
            bond(here, index_xy[slot.inds[0]], slot.inds[0])
            continue
        bond(here, index_xy[slot.inds[0]], slot.inds[0])
        other = slot.inds[1]
        if other.startswith("x"):
            bond(here, index_xy[other], other, color="0.75", lw=0.7, ls=(0, (3, 3)))
        else:
            bond(here, index_xy[other], other)
    for name, (x, y) in index_xy.items():
        if not name.startswith("x"):
            ax.plot(x, y, "o", ms=3.5, color="0.2", zorder=3)
    markers = {"INPUT": "o", "HIDDEN": "s", "OUTPUT": "D"}
    for i, slot in enumerate(slots):
        x, y = tensor_xy[i]
        colour = _S_COLOUR if slot.time in in_start else _E_COLOUR
        ax.plot(x, y, markers[slot.role], ms=15 if slot.role != "OUTPUT" else 13, color=colour,
                mec="black", mew=0.8, zorder=4)
        label = {"INPUT": f"I{slot.layer}", "HIDDEN": f"H{slot.layer}", "OUTPUT": "O"}[slot.role]
        ax.text(x, y, label, ha="center", va="center", fontsize=7, color="white", weight="bold", zorder=5)
    for t in range(length):
        x, y = index_xy[f"x{t}"]
        colour = _S_COLOUR if t in in_start else _E_COLOUR
        ax.text(x, y, f"$x_{{{t}}}$", ha="center", va="center", fontsize=11, zorder=5,
                bbox={"boxstyle": "round,pad=0.25", "fc": "white", "ec": colour, "lw": 1.5})
    chains: dict[float, tuple[int, int]] = {}  # row y -> (layer, last time step of the chain)
    for name, (_, y) in index_xy.items():
        if not name.startswith("x"):
            layer, t = (int(part) for part in name[1:].split("_")[:2])
            chains[y] = (layer, max(t, chains.get(y, (layer, t))[1]))
    for y, (layer, last) in chains.items():
        text = f"layer {layer}" if layer == spec.depth else f"layer {layer}\n(copy for t={last})"
        ax.text(-0.45, y, text, ha="right", va="center", fontsize=7, color="0.3")
    k = partition.prefix_length
    if k is not None and partition.start == tuple(range(k)):
        ax.axvline(k - 0.5, color="0.5", ls=":", lw=1)
    ax.set_xticks(range(length), [f"t={t}" for t in range(length)])
    ax.set_yticks([])
    ax.set_xlim(-1.5, length + 0.2)
    ax.set_ylim(min(y for _, y in index_xy.values()) - 0.6, 0.6)
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    ax.set_xlabel("time step (0-based)")
    title = (f"RAC tensor network: M={spec.templates}, R={spec.hidden}, L={spec.depth}, T={length}, "
             f"{len(slots)} tensors")
    if cut is not None:
        from tnrnn.rac.bounds import format_count

        bonds = len(cut.cut_inds)
        trivial = spec.templates ** min(len(partition.start), len(partition.end))  # the matrix's smaller side
        title += (f"\n{partition.name} partition; min cut: {bonds} bond{'s' if bonds != 1 else ''}, "
                  f"rank <= {format_count(min(cut.value, trivial))}"
                  + (f" (the cut allows {format_count(cut.value)})" if cut.value > trivial else ""))
    ax.set_title(title, fontsize=10)
    legend = [Line2D([], [], marker="s", ls="", color="0.5", mec="black", ms=9, label="H: hidden $W^{H,l}$"),
              Line2D([], [], marker="o", ls="", color="0.5", mec="black", ms=9, label="I: input $W^{I,l}$"),
              Line2D([], [], marker="D", ls="", color="0.5", mec="black", ms=8, label="O: output $W^O$"),
              Line2D([], [], marker="o", ls="", color="0.2", ms=4, label="state (hyperedge, $\\odot$)"),
              Line2D([], [], marker="s", ls="", color=_S_COLOUR, ms=9, label="time in S"),
              Line2D([], [], marker="s", ls="", color=_E_COLOUR, ms=9, label="time in E")]
    if cut is not None:
        legend.append(Line2D([], [], color=_CUT_COLOUR, lw=3, label="min-cut bond"))
    ax.legend(handles=legend, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    fig.tight_layout()
    if out is not None:
        from tnrnn import style

        style.save(fig, out)
    return fig
