"""The gated models the time-scale lens measures: variants of the forget gate and their builders.

:class:`GateVariant` names a published forget-gate construction of :mod:`tnrnn.lenses.timescale.gated`;
:func:`build_gated_model` builds one for a task; :func:`as_traceable` exposes the
forget-gate pre-activations and cell states of any model the diagnostics measure.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

__all__ = [
    "as_traceable",
    "GateVariant",
    "DEFAULT_VARIANTS",
    "build_gated_model",
]


def as_traceable(model):
    """``model`` itself if it has ``trace``, else an equivalent :class:`~tnrnn.lenses.timescale.gated.GatedRNN`.

    A model holding a ``torch.nn.LSTM`` / ``GRU`` as ``model.rnn`` (``batch_first``) and a
    per-step ``model.readout`` (``tnrnn.nn.DeepRNN`` with cell ``"lstm"`` or ``"gru"``)
    is converted to a copy with the same weights whose gates and cell states are visible.

    Parameters
    ----------
    model : torch.nn.Module

    Returns
    -------
    torch.nn.Module
        A model with ``trace(inputs) -> GateTrace``.

    Raises
    ------
    ValueError
        If the model has neither ``trace`` nor a batch-first ``rnn`` LSTM/GRU.

    Examples
    --------
    >>> import torch
    >>> from tnrnn.nn import DeepRNN
    >>> net = DeepRNN("lstm", input_size=2, output_size=1, hidden=4, depth=2)
    >>> x = torch.randn(3, 5, 2)
    >>> torch.allclose(as_traceable(net).trace(x).outputs, net(x), atol=1e-6)
    True
    """
    if callable(getattr(model, "trace", None)):
        return model
    from torch import nn

    from tnrnn.lenses.timescale.gated import GatedRNN

    rnn = getattr(model, "rnn", None)
    if isinstance(rnn, (nn.LSTM, nn.GRU)) and rnn.batch_first:
        gated = GatedRNN.from_torch(rnn)
        readout = getattr(model, "readout", None)
        if readout is not None:
            gated.readout = copy.deepcopy(readout)
            gated.output_size = readout.out_features
        return gated
    raise ValueError(f"model must expose trace(inputs) -> GateTrace (e.g. tnrnn.lenses.timescale.gated.GatedRNN) or hold "
                     f"a batch-first torch LSTM/GRU as .rnn, got {type(model).__name__}")


def _trace(model, inputs):
    return as_traceable(model).trace(inputs)


def _float64_copy(model):
    """A float64 copy of the model, so long-lag gradients and saturated gates do not underflow."""
    return copy.deepcopy(as_traceable(model)).double()


# ----------------------------------------------------------------------------- experiment

@dataclass(frozen=True)
class GateVariant:
    """One forget-gate construction: activation, initialisation and its parameters.

    Attributes
    ----------
    name : str
        Label in tables and figures.
    gate : {"sigmoid", "fast", "timescale"}
    init : {"pytorch", "constant", "chrono", "uniform"}
    forget_bias : float
        B for ``init="constant"``.
    tmax : float or None
        T_max for ``init="chrono"`` (None: the task's sequence length).
    """

    name: str
    gate: str = "sigmoid"
    init: str = "constant"
    forget_bias: float = 1.0
    tmax: float | None = None


#: The variants compared by default, each named by its origin.
DEFAULT_VARIANTS: tuple[GateVariant, ...] = (
    GateVariant("sigmoid, bias 1 (Gers 2000)", "sigmoid", "constant", 1.0),
    GateVariant("sigmoid, chrono (Tallec 2018)", "sigmoid", "chrono"),
    GateVariant("sigmoid, uniform (Gu 2020)", "sigmoid", "uniform"),
    GateVariant("fast sigma(sinh), chrono (Ohno 2023)", "fast", "chrono"),
    GateVariant("tau = 1 + softplus, chrono", "timescale", "chrono"),
    GateVariant("fast sigma(sinh), bias 1", "fast", "constant", 1.0),
    GateVariant("tau = 1 + softplus, bias 1", "timescale", "constant", 1.0),
)


def build_gated_model(task, variant: GateVariant, *, cell: str = "lstm", hidden: int = 32, depth: int = 1,
                      seed: int = 0):
    """A :class:`~tnrnn.lenses.timescale.gated.GatedRNN` sized for ``task`` with ``variant``'s gate and init.

    Parameters
    ----------
    task : tnrnn.nn.tasks.Task
    variant : GateVariant
    cell : {"lstm", "gru"}
    hidden, depth, seed : int
        Width, number of layers, and the seed of the weights and of the init's draws.

    Returns
    -------
    GatedRNN

    Raises
    ------
    ValueError
        On a bad size, cell, gate or init.
    """
    import torch

    from tnrnn.lenses.timescale.gated import GatedRNN, init_forget_gate

    torch.manual_seed(seed)
    model = GatedRNN(task.input_size, hidden, task.output_size, cell=cell, depth=depth, gate=variant.gate)
    tmax = variant.tmax if variant.tmax is not None else float(task.sequence_length)
    init_forget_gate(model, variant.init, forget_bias=variant.forget_bias, tmax=tmax,
                     generator=torch.Generator().manual_seed(seed + 1))
    return model
