"""The gated models the time-scale lens measures: cells with visible gates, forget-gate variants, builders.

Our own LSTM and GRU cells (:class:`LSTMCell`, :class:`GRUCell`), numerically identical to
:class:`torch.nn.LSTM` and :class:`torch.nn.GRU` (same weight layout, same formulas), that
expose their gate activations and cell states at every step, stack to depth L
(:class:`GatedRNN`), and offer forget gates other than the sigmoid (:func:`init_forget_gate`
initialises them). :class:`GateVariant` names one published forget-gate construction and
:func:`build_gated_model` builds it for a task; :func:`as_traceable` exposes the forget-gate
pre-activations and cell states of any model the diagnostics measure. Nothing here claims
to reproduce the gate of K. Ohno and A. Kumagai (arXiv:2111.03282): each variant is named
by its published origin.

LSTM step (PyTorch's gate order ``i, f, g, o`` in the rows of ``weight_ih``)::

    a   = W_ih x_t + b_ih + W_hh h_{t-1} + b_hh          (4H pre-activations)
    i_t = sigmoid(a_i)    f_t = phi(a_f)    g_t = tanh(a_g)    o_t = sigmoid(a_o)
    c_t = f_t * c_{t-1} + i_t * g_t
    h_t = o_t * tanh(c_t)

GRU step (gate order ``r, z, n``)::

    r_t = sigmoid(a_r)    z_t = phi(a_z)
    n_t = tanh(W_in x_t + b_in + r_t * (W_hn h_{t-1} + b_hn))
    h_t = (1 - z_t) * n_t + z_t * h_{t-1}

``z_t`` keeps the old state, so it plays the forget gate and ``h_t`` the cell state.

Forget-gate activations ``phi`` (the ``gate`` argument):

* ``"sigmoid"``: ``f = sigmoid(a)``, PyTorch's gate.
* ``"fast"``: ``f = sigmoid(sinh(a))``, the fast gate of Ohno & Kumagai (AAAI 2023): it
  reaches values near 1 at moderate pre-activations and keeps a larger gradient there.
* ``"timescale"``: ``f = exp(-1/tau)`` with ``tau = 1 + softplus(a)``: the gate is
  parameterised by the time scale itself; ``d tau / d a = sigmoid(a)`` does not vanish
  as tau grows. It cannot represent ``f < 1/e`` (``tau < 1``).

Forget-gate initialisations (:func:`init_forget_gate`), each defined on the forget
gate's value at zero input as ``f = sigmoid(s)`` for a per-unit target ``s`` and then
mapped through the inverse of the chosen activation, so that every gate variant
starts from the same gate values and time scales:

* ``"constant"``: ``s = B`` (forget bias 1, Gers et al. 2000; Jozefowicz et al. 2015).
* ``"chrono"``: ``s = log u``, ``u ~ U[1, T_max - 1]``, and the input gate bias
  ``-s`` (Tallec & Ollivier 2018).
* ``"uniform"``: ``s = logit(u)``, ``u ~ U[1/d, 1 - 1/d]``, d the hidden width
  (Gu et al. 2020, uniform gate initialisation).
* ``"pytorch"``: leave PyTorch's default ``U(-1/sqrt(H), 1/sqrt(H))`` biases.

**The single-bias pitfall.** PyTorch-style cells have two biases, ``bias_ih`` and
``bias_hh``, that are summed. Writing the target into both doubles the effective bias
(``sigmoid(2 log u)`` has time scale up to about ``T_max^2``). The initialisations here
write the target into ``bias_ih`` and zero the same slice of ``bias_hh``.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import nn
from torch.nn import functional as F

from tnrnn._validation import positive_int

__all__ = [
    "FORGET_GATES",
    "INITS",
    "CELLS",
    "forget_gate",
    "log_forget_gate",
    "forget_preactivation",
    "LSTMCell",
    "GRUCell",
    "GateTrace",
    "GatedRNN",
    "init_forget_gate",
    "as_traceable",
    "GateVariant",
    "DEFAULT_VARIANTS",
    "build_gated_model",
]

ForgetGate = Literal["sigmoid", "fast", "timescale"]
FORGET_GATES: tuple[str, ...] = ("sigmoid", "fast", "timescale")
INITS: tuple[str, ...] = ("pytorch", "constant", "chrono", "uniform")
CELLS: tuple[str, ...] = ("lstm", "gru")

#: Smallest ``tau - 1`` the time-scale gate is initialised to (it cannot reach tau < 1).
_MIN_TAU_EXCESS = 1e-3


def _check_choice(value, name: str, valid: tuple[str, ...]) -> str:
    if value not in valid:
        raise ValueError(f"{name} must be one of {', '.join(map(repr, valid))}, got {value!r}")
    return value


def forget_gate(pre: torch.Tensor, gate: str = "sigmoid") -> torch.Tensor:
    """The forget gate's value ``f = phi(pre)`` for the named activation.

    Parameters
    ----------
    pre : torch.Tensor
        Pre-activations ``a_f``.
    gate : {"sigmoid", "fast", "timescale"}
        The activation (module docstring).

    Returns
    -------
    torch.Tensor
        Gate values in (0, 1), same shape as ``pre``.

    Raises
    ------
    ValueError
        If ``gate`` is unknown.

    Examples
    --------
    >>> z = torch.tensor([0.0, 2.0])
    >>> forget_gate(z, "sigmoid")
    tensor([0.5000, 0.8808])
    >>> forget_gate(z, "fast")
    tensor([0.5000, 0.9741])
    >>> forget_gate(torch.tensor([-50.0]), "timescale")  # tau -> 1, f -> 1/e
    tensor([0.3679])
    """
    _check_choice(gate, "gate", FORGET_GATES)
    if gate == "sigmoid":
        return torch.sigmoid(pre)
    if gate == "fast":
        return torch.sigmoid(torch.sinh(pre))
    return torch.exp(-1.0 / (1.0 + F.softplus(pre)))


def log_forget_gate(pre: torch.Tensor, gate: str = "sigmoid") -> torch.Tensor:
    """``ln f`` computed from the pre-activation without rounding f to 1.

    ``ln sigmoid(a) = -softplus(-a)`` stays accurate where ``sigmoid(a)`` rounds to 1,
    so time scales ``tau = -1/ln f`` stay finite and exact for saturated gates.

    Parameters
    ----------
    pre : torch.Tensor
        Pre-activations ``a_f``.
    gate : {"sigmoid", "fast", "timescale"}
        The activation.

    Returns
    -------
    torch.Tensor
        ``ln f`` (negative), same shape as ``pre``.

    Raises
    ------
    ValueError
        If ``gate`` is unknown.

    Examples
    --------
    >>> float(-1 / log_forget_gate(torch.tensor(40.0, dtype=torch.float64)))  # tau of sigmoid(40)
    2.35385266837...e+17
    """
    _check_choice(gate, "gate", FORGET_GATES)
    if gate == "sigmoid":
        return -F.softplus(-pre)
    if gate == "fast":
        return -F.softplus(-torch.sinh(pre))
    return -1.0 / (1.0 + F.softplus(pre))


def forget_preactivation(target: torch.Tensor, gate: str = "sigmoid") -> torch.Tensor:
    """Pre-activation ``a`` with ``phi(a) = sigmoid(target)``: the inverse used by the inits.

    Parameters
    ----------
    target : torch.Tensor
        Sigmoid pre-activations ``s`` defining the gate values ``sigmoid(s)``.
    gate : {"sigmoid", "fast", "timescale"}
        The activation to invert.

    Returns
    -------
    torch.Tensor
        ``s`` for the sigmoid, ``asinh(s)`` for the fast gate, and for the time-scale
        gate ``softplus^{-1}(tau - 1)`` with ``tau = -1/ln sigmoid(s)``; time scales
        below ``1 + 1e-3`` (gate values below about 1/e) are raised to it, since that
        gate cannot represent them.

    Raises
    ------
    ValueError
        If ``gate`` is unknown.

    Examples
    --------
    >>> s = torch.tensor([-1.0, 0.5, 3.0], dtype=torch.float64)
    >>> for gate in ("sigmoid", "fast"):
    ...     assert torch.allclose(forget_gate(forget_preactivation(s, gate), gate), torch.sigmoid(s))
    >>> a = forget_preactivation(s, "timescale")
    >>> torch.allclose(forget_gate(a, "timescale")[1:], torch.sigmoid(s)[1:])
    True
    >>> float(forget_gate(a, "timescale")[0])  # sigmoid(-1) = 0.27 is below 1/e: clamped to tau = 1.001
    0.36824...
    """
    _check_choice(gate, "gate", FORGET_GATES)
    if gate == "sigmoid":
        return target.clone()
    if gate == "fast":
        return torch.asinh(target)
    excess = (1.0 / F.softplus(-target) - 1.0).clamp_min(_MIN_TAU_EXCESS)
    # softplus^{-1}(x) = log(expm1(x)) = x + log(-expm1(-x)), the latter stable for large x
    return excess + torch.log(-torch.expm1(-excess))


class _GatedCell(nn.Module):
    """Shared parameters and initialisation of the LSTM and GRU cells."""

    n_gates: int
    forget_index: int

    def __init__(self, input_size: int, hidden_size: int, *, gate: str = "sigmoid",
                 device=None, dtype=None) -> None:
        super().__init__()
        self.input_size = positive_int(input_size, "input_size")
        self.hidden_size = positive_int(hidden_size, "hidden_size")
        self.gate = _check_choice(gate, "gate", FORGET_GATES)
        kw = {"device": device, "dtype": dtype}
        rows = self.n_gates * hidden_size
        self.weight_ih = nn.Parameter(torch.empty(rows, input_size, **kw))
        self.weight_hh = nn.Parameter(torch.empty(rows, hidden_size, **kw))
        self.bias_ih = nn.Parameter(torch.empty(rows, **kw))
        self.bias_hh = nn.Parameter(torch.empty(rows, **kw))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """PyTorch's default: every weight and bias ``U(-1/sqrt(H), 1/sqrt(H))``."""
        bound = 1.0 / math.sqrt(self.hidden_size)
        for weight in self.parameters():
            nn.init.uniform_(weight, -bound, bound)

    def gate_slice(self, index: int) -> slice:
        """Rows of the weights and biases that belong to gate number ``index``."""
        return slice(index * self.hidden_size, (index + 1) * self.hidden_size)

    def effective_forget_bias(self) -> torch.Tensor:
        """``bias_ih + bias_hh`` on the forget-gate rows: the bias the gate actually sees."""
        rows = self.gate_slice(self.forget_index)
        return (self.bias_ih[rows] + self.bias_hh[rows]).detach()

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, gate={self.gate!r}"


class LSTMCell(_GatedCell):
    """One LSTM layer with PyTorch's layout and a choice of forget gate.

    Parameters
    ----------
    input_size, hidden_size : int
        Sizes of ``x_t`` and ``h_t``.
    gate : {"sigmoid", "fast", "timescale"}
        Forget-gate activation (module docstring).
    device, dtype : optional
        Where and in what precision the parameters live.

    Raises
    ------
    ValueError
        On a non-positive size or an unknown gate.

    Examples
    --------
    >>> cell = LSTMCell(3, 5)
    >>> x, h, c = torch.zeros(2, 3), torch.zeros(2, 5), torch.zeros(2, 5)
    >>> h1, c1, gates = cell.step(cell.project_input(x), h, c)
    >>> h1.shape, sorted(gates)
    (torch.Size([2, 5]), ['cell_input', 'forget', 'forget_pre', 'input', 'output'])
    """

    n_gates = 4
    forget_index = 1

    def project_input(self, x: torch.Tensor) -> torch.Tensor:
        """``W_ih x + b_ih + b_hh`` for any leading shape (done once for all steps)."""
        return F.linear(x, self.weight_ih, self.bias_ih + self.bias_hh)

    def step(self, x_proj: torch.Tensor, h: torch.Tensor, c: torch.Tensor):
        """One step from the projected input; returns ``(h_t, c_t, gates)``."""
        hidden = self.hidden_size
        pre = torch.addmm(x_proj, h, self.weight_hh.t())
        # one sigmoid over all rows (the g rows are discarded): fewer ops per step
        sig = torch.sigmoid(pre)
        a_f = pre[:, hidden:2 * hidden]
        i, o = sig[:, :hidden], sig[:, 3 * hidden:]
        f = sig[:, hidden:2 * hidden] if self.gate == "sigmoid" else forget_gate(a_f, self.gate)
        g = torch.tanh(pre[:, 2 * hidden:3 * hidden])
        c = torch.addcmul(f * c, i, g)
        h = o * torch.tanh(c)
        return h, c, {"input": i, "forget": f, "forget_pre": a_f, "cell_input": g, "output": o}


class GRUCell(_GatedCell):
    """One GRU layer with PyTorch's layout; the update gate ``z`` is the forget gate.

    Parameters
    ----------
    input_size, hidden_size : int
        Sizes of ``x_t`` and ``h_t``.
    gate : {"sigmoid", "fast", "timescale"}
        Activation of the update gate ``z`` (the fraction of ``h_{t-1}`` kept).
    device, dtype : optional
        Where and in what precision the parameters live.

    Raises
    ------
    ValueError
        On a non-positive size or an unknown gate.

    Examples
    --------
    >>> cell = GRUCell(3, 4, gate="fast")
    >>> h = torch.zeros(2, 4)
    >>> h1, c1, gates = cell.step(cell.project_input(torch.ones(2, 3)), h, h)
    >>> bool((h1 == c1).all()), sorted(gates)
    (True, ['candidate', 'forget', 'forget_pre', 'reset'])
    """

    n_gates = 3
    forget_index = 1

    def project_input(self, x: torch.Tensor) -> torch.Tensor:
        """``W_ih x + b_ih`` for any leading shape (done once for all steps)."""
        return F.linear(x, self.weight_ih, self.bias_ih)

    def step(self, x_proj: torch.Tensor, h: torch.Tensor, c: torch.Tensor | None = None):
        """One step; the GRU has no separate cell state, ``c_t = h_t`` is returned twice."""
        x_r, x_z, x_n = x_proj.chunk(3, dim=-1)
        h_r, h_z, h_n = F.linear(h, self.weight_hh, self.bias_hh).chunk(3, dim=-1)
        r = torch.sigmoid(x_r + h_r)
        a_z = x_z + h_z
        z = forget_gate(a_z, self.gate)
        n = torch.tanh(x_n + r * h_n)
        h = (1.0 - z) * n + z * h
        return h, h, {"reset": r, "forget": z, "forget_pre": a_z, "candidate": n}


@dataclass
class GateTrace:
    """Everything a :class:`GatedRNN` computed on one batch, per layer and step.

    Attributes
    ----------
    outputs : torch.Tensor
        ``(B, T, output_size)`` readout (or the top hidden states without a readout).
    hidden : list[list[torch.Tensor]]
        ``hidden[l][t]``: ``h^l_t`` of shape ``(B, H)``, kept in the autograd graph.
    cells : list[list[torch.Tensor]]
        ``cells[l][t]``: the cell state ``c^l_t`` (``h^l_t`` for a GRU), in the graph,
        so ``torch.autograd.grad(loss, cells[l])`` gives ``dL/dc_t`` for every t.
    gates : list[dict[str, torch.Tensor]]
        ``gates[l][name]``: activations stacked over time, ``(B, T, H)``; names as
        returned by the cell's ``step`` (``forget`` and ``forget_pre`` for both cells).
    gate : str
        The forget-gate activation, to turn ``forget_pre`` into exact ``ln f``.
    """

    outputs: torch.Tensor
    hidden: list[list[torch.Tensor]]
    cells: list[list[torch.Tensor]]
    gates: list[dict[str, torch.Tensor]]
    gate: str

    def log_forget(self, layer: int = -1) -> torch.Tensor:
        """``ln f`` of layer ``layer`` as ``(B, T, H)``, exact even where f rounds to 1."""
        return log_forget_gate(self.gates[layer]["forget_pre"], self.gate)


class GatedRNN(nn.Module):
    """A stack of L gated layers (LSTM or GRU) with an optional per-step linear readout.

    Layer l reads ``h^{l-1}_t`` (``x_t`` for l = 1); the readout maps the top layer's
    ``h^L_t`` to the outputs at every step. With ``output_size=None`` the top hidden
    states are returned, exactly like ``torch.nn.LSTM(..., batch_first=True)``.

    Parameters
    ----------
    input_size, hidden_size : int
        Sizes of ``x_t`` and of every layer's state.
    output_size : int or None
        Width of the readout, or None for no readout.
    cell : {"lstm", "gru"}
        The layer type.
    depth : int
        L, number of stacked layers.
    gate : {"sigmoid", "fast", "timescale"}
        Forget-gate activation of every layer.
    fused : bool
        Let :meth:`forward` use PyTorch's fused kernels when the gate is the sigmoid.
    device, dtype : optional
        Where and in what precision the parameters live.

    Raises
    ------
    ValueError
        On a non-positive size or depth, or an unknown cell or gate.

    Notes
    -----
    One step costs O(B H (I + H)) per layer; the input projections of a layer are
    computed for all T steps in one matrix product (layer-major order), the recurrence
    is a Python loop over T.

    Examples
    --------
    >>> torch.manual_seed(0)  # doctest: +ELLIPSIS
    <torch._C.Generator object at ...>
    >>> model = GatedRNN(4, 8, 2, depth=2, gate="fast")
    >>> model(torch.randn(3, 10, 4)).shape
    torch.Size([3, 10, 2])
    >>> trace = model.trace(torch.randn(3, 10, 4))
    >>> len(trace.cells), len(trace.cells[0]), tuple(trace.gates[1]["forget"].shape)
    (2, 10, (3, 10, 8))
    """

    def __init__(self, input_size: int, hidden_size: int, output_size: int | None = None, *,
                 cell: str = "lstm", depth: int = 1, gate: str = "sigmoid", fused: bool = True,
                 device=None, dtype=None) -> None:
        super().__init__()
        self.fused = bool(fused)
        self.cell = _check_choice(cell, "cell", CELLS)
        self.depth = positive_int(depth, "depth")
        if output_size is not None:
            positive_int(output_size, "output_size")
        self.input_size, self.hidden_size, self.output_size = input_size, hidden_size, output_size
        self.gate = gate
        cell_class = LSTMCell if cell == "lstm" else GRUCell
        self.layers = nn.ModuleList(
            cell_class(input_size if layer == 0 else hidden_size, hidden_size, gate=gate,
                       device=device, dtype=dtype)
            for layer in range(self.depth)
        )
        self.readout = (nn.Linear(hidden_size, output_size, device=device, dtype=dtype)
                        if output_size is not None else None)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        """Per-step outputs ``(B, T, output_size)`` for inputs ``(B, T, input_size)``.

        With sigmoid forget gates and ``fused=True`` this calls PyTorch's own
        ``torch.lstm`` / ``torch.gru`` kernels on our parameters (the same function as the
        step loop, faster); :meth:`trace` always runs the step loop.
        """
        if self.fused and self.gate == "sigmoid":
            self._check_inputs(inputs)
            params = [getattr(layer, name) for layer in self.layers
                      for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
            h0 = inputs.new_zeros(self.depth, inputs.shape[0], self.hidden_size)
            if self.cell == "lstm":
                top = torch.lstm(inputs, (h0, h0), params, True, self.depth, 0.0, self.training, False, True)[0]
            else:
                top = torch.gru(inputs, h0, params, True, self.depth, 0.0, self.training, False, True)[0]
            return self.readout(top) if self.readout is not None else top
        return self._run(inputs, keep=False).outputs

    def trace(self, inputs: torch.Tensor) -> GateTrace:
        """Run on ``inputs (B, T, input_size)`` and keep every gate and state (module docs)."""
        return self._run(inputs, keep=True)

    def _check_inputs(self, inputs: torch.Tensor) -> None:
        if inputs.dim() != 3 or inputs.shape[-1] != self.input_size:
            raise ValueError(f"inputs must have shape (batch, time, {self.input_size}), "
                             f"got {tuple(inputs.shape)}")

    def _run(self, inputs: torch.Tensor, keep: bool) -> GateTrace:
        self._check_inputs(inputs)
        batch = inputs.shape[0]
        layer_input = inputs
        hidden_all, cells_all, gates_all = [], [], []
        for layer in self.layers:
            # unbind, not x_proj[:, t]: each select's backward would zero-fill the whole (B, T, .) tensor
            x_steps = layer.project_input(layer_input).unbind(1)
            h = inputs.new_zeros(batch, self.hidden_size)
            c = h
            hs, cs, gates_seq = [], [], []
            for x_t in x_steps:
                h, c, gates = layer.step(x_t, h, c)
                hs.append(h)
                cs.append(c)
                if keep:
                    gates_seq.append(gates)
            layer_input = torch.stack(hs, dim=1)
            if keep:
                hidden_all.append(hs)
                cells_all.append(cs)
                gates_all.append({name: torch.stack([g[name] for g in gates_seq], dim=1)
                                  for name in gates_seq[0]} if gates_seq else {})
        outputs = self.readout(layer_input) if self.readout is not None else layer_input
        return GateTrace(outputs, hidden_all, cells_all, gates_all, self.gate)

    @classmethod
    def from_torch(cls, module: nn.LSTM | nn.GRU, *, gate: str = "sigmoid") -> GatedRNN:
        """A copy of a ``torch.nn.LSTM`` / ``torch.nn.GRU`` (no readout) with the same weights.

        Parameters
        ----------
        module : torch.nn.LSTM or torch.nn.GRU
            Unidirectional, with biases, without projections.
        gate : str
            Forget-gate activation of the copy (``"sigmoid"`` reproduces ``module``).

        Returns
        -------
        GatedRNN
            Same dtype and device as ``module``; ``copy(x)`` equals ``module(x)[0]`` with
            ``batch_first=True`` inputs.

        Raises
        ------
        ValueError
            If ``module`` is bidirectional, has no bias, or uses ``proj_size``.
        """
        if not isinstance(module, (nn.LSTM, nn.GRU)):
            raise ValueError(f"module must be a torch.nn.LSTM or torch.nn.GRU, got {type(module).__name__}")
        if module.bidirectional or not module.bias or getattr(module, "proj_size", 0):
            raise ValueError("module must be unidirectional, with bias=True and proj_size=0")
        ref = module.weight_ih_l0
        copy = cls(module.input_size, module.hidden_size, None, cell="lstm" if isinstance(module, nn.LSTM)
                   else "gru", depth=module.num_layers, gate=gate, device=ref.device, dtype=ref.dtype)
        with torch.no_grad():
            for index, layer in enumerate(copy.layers):
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(layer, name).copy_(getattr(module, f"{name}_l{index}"))
        return copy

    def to_torch(self) -> nn.LSTM | nn.GRU:
        """The equivalent ``torch.nn.LSTM`` / ``GRU`` (``batch_first=True``); sigmoid gates only.

        Raises
        ------
        ValueError
            If the forget gate is not ``"sigmoid"`` (PyTorch has no other).
        """
        if self.gate != "sigmoid":
            raise ValueError(f"only gate='sigmoid' has a torch.nn equivalent, got gate={self.gate!r}")
        ref = self.layers[0].weight_ih
        module_class = nn.LSTM if self.cell == "lstm" else nn.GRU
        module = module_class(self.input_size, self.hidden_size, self.depth, batch_first=True,
                              device=ref.device, dtype=ref.dtype)
        with torch.no_grad():
            for index, layer in enumerate(self.layers):
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh"):
                    getattr(module, f"{name}_l{index}").copy_(getattr(layer, name))
        return module


def init_forget_gate(model: GatedRNN | _GatedCell, init: str, *, forget_bias: float = 1.0,
                     tmax: float | None = None, generator: torch.Generator | None = None) -> None:
    """Initialise the forget-gate biases of every layer (in place).

    Parameters
    ----------
    model : GatedRNN or LSTMCell or GRUCell
        The model (every layer) or one cell.
    init : {"pytorch", "constant", "chrono", "uniform"}
        The scheme (module docstring). ``"pytorch"`` leaves the parameters unchanged.
    forget_bias : float
        ``B`` for ``"constant"``: the gate starts at ``sigmoid(B)``.
    tmax : float or None
        ``T_max`` for ``"chrono"`` (required there, > 2): typically the longest
        dependency expected, e.g. the sequence length.
    generator : torch.Generator or None
        Randomness for ``"chrono"`` and ``"uniform"``.

    Raises
    ------
    ValueError
        On an unknown scheme, a missing or too small ``tmax``, or a non-finite bias.

    Notes
    -----
    The target is written into ``bias_ih`` and the same rows of ``bias_hh`` are set to
    zero (the single-bias pitfall, module docstring). Chrono also sets the LSTM input
    gate bias to ``-s`` (in ``bias_ih``, zeroing ``bias_hh``); a GRU has no separate
    input gate (``1 - z`` is), so only ``z`` changes. Uniform initialisation draws ``u``
    from ``U[1/d, 1 - 1/d]`` for a width d >= 3 and from ``U[1/4, 3/4]`` for d <= 2
    (where the paper's interval is empty or a point).

    Examples
    --------
    >>> model = GatedRNN(2, 6, cell="lstm")
    >>> init_forget_gate(model, "chrono", tmax=50, generator=torch.Generator().manual_seed(0))
    >>> b = model.layers[0].effective_forget_bias()
    >>> bool(((b >= 0) & (b <= math.log(49))).all())
    True
    """
    _check_choice(init, "init", INITS)
    if init == "pytorch":
        return
    cells = list(model.layers) if isinstance(model, GatedRNN) else [model]
    if init == "constant" and not math.isfinite(forget_bias):
        raise ValueError(f"forget_bias must be finite, got {forget_bias!r}")
    if init == "chrono" and (tmax is None or not tmax > 2):
        raise ValueError(f"tmax must be a number > 2 for init='chrono', got {tmax!r}")
    for cell in cells:
        hidden = cell.hidden_size
        if init == "constant":
            target = torch.full((hidden,), float(forget_bias), dtype=torch.float64)
        elif init == "chrono":
            u = 1.0 + (tmax - 2.0) * torch.rand(hidden, generator=generator, dtype=torch.float64)
            target = torch.log(u)
        else:  # uniform gate initialisation, Gu et al. 2020
            low = 1.0 / hidden if hidden > 2 else 0.25
            u = low + (1.0 - 2.0 * low) * torch.rand(hidden, generator=generator, dtype=torch.float64)
            target = torch.log(u) - torch.log1p(-u)
        rows = cell.gate_slice(cell.forget_index)
        with torch.no_grad():
            cell.bias_ih[rows] = forget_preactivation(target, cell.gate).to(cell.bias_ih)
            cell.bias_hh[rows] = 0.0
            if init == "chrono" and isinstance(cell, LSTMCell):
                input_rows = cell.gate_slice(0)
                cell.bias_ih[input_rows] = (-target).to(cell.bias_ih)
                cell.bias_hh[input_rows] = 0.0


# --- any model made traceable; the gate variants of the experiment ---------------------

def as_traceable(model):
    """``model`` itself if it has ``trace``, else an equivalent :class:`GatedRNN`.

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
    rnn = getattr(model, "rnn", None)
    if isinstance(rnn, (nn.LSTM, nn.GRU)) and rnn.batch_first:
        gated = GatedRNN.from_torch(rnn)
        readout = getattr(model, "readout", None)
        if readout is not None:
            gated.readout = copy.deepcopy(readout)
            gated.output_size = readout.out_features
        return gated
    raise ValueError(f"model must expose trace(inputs) -> GateTrace (e.g. GatedRNN) or hold "
                     f"a batch-first torch LSTM/GRU as .rnn, got {type(model).__name__}")


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
    """A :class:`GatedRNN` sized for ``task`` with ``variant``'s gate and init.

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

    Examples
    --------
    >>> from tnrnn.nn.tasks import make_task
    >>> task = make_task("adding", 20)
    >>> model = build_gated_model(task, GateVariant("fast, chrono", "fast", "chrono"), hidden=8, depth=2)
    >>> model.gate, model.depth, model(task.sample(3, torch.Generator().manual_seed(0))[0]).shape
    ('fast', 2, torch.Size([3, 20, 1]))
    """
    torch.manual_seed(seed)
    model = GatedRNN(task.input_size, hidden, task.output_size, cell=cell, depth=depth, gate=variant.gate)
    tmax = variant.tmax if variant.tmax is not None else float(task.sequence_length)
    init_forget_gate(model, variant.init, forget_bias=variant.forget_bias, tmax=tmax,
                     generator=torch.Generator().manual_seed(seed + 1))
    return model
