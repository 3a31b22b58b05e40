"""Fused unrolled recurrences with a hand-written backward pass through time.

``recurrence(kind, drives, w, bias)`` computes the whole state sequence of one layer::

    tanh     h_t = tanh(h_{t-1} W^T + d_t)                     h_0 = 0 or given
    modrelu  h_t = sign(z_t) relu(|z_t| + b),  z_t = h_{t-1} W^T + d_t   h_0 = 0 or given
    rac      h_t = (h_{t-1} W^T) ⊙ d_t                          h_1 = d_1  (W^H h_0 = 1)

where ``d_t = W^I x_t (+ bias)`` are the precomputed input drives. Autograd on the plain
loop records O(T) small nodes and, in backward, one small ``R × B × R`` weight-gradient
product per step. Here the forward runs without a graph, only the state sequence ``H`` is
saved (the activation derivatives are recomputed from it: ``1 - h²`` for tanh,
``h != 0`` for modReLU), and the backward runs one ``(B, R) @ (R, R)`` product per step
while every weight gradient is a single large product over all steps, e.g.
``∂L/∂W = Σ_t g_{z_t}^T h_{t-1} = G_Z[1:]^T H[:-1]``.

The result is the same function with the same gradients (checked against autograd and by
``torch.autograd.gradcheck`` in the tests); the speed is measured by
``benchmarks/bench_training.py``.

The time loops themselves (``_forward_loop``, ``_backward_loop``) run compiled on CPU where
they build (:mod:`tnrnn.nn._compiled`: the same operations from C++, modReLU's elementwise
steps fused into one pass) and as the Python functions here elsewhere; both give the same
numbers, bit for bit (``tests/test_recurrence_loops.py``). modReLU's step products run
transposed in both, ``z_t^T = W h_{t-1}^T`` (an ``(R, B)`` block: MKL's small products are
faster with the B sequences as the long, contiguous side), read back transposed with the drive
added; in the backward only where no gradient comes from outside (one product adding it is
faster there).
"""

from __future__ import annotations

import torch

from tnrnn.nn._compiled import compiled_ops_for

__all__ = ["recurrence", "KINDS"]

#: Recurrences implemented here.
KINDS = ("tanh", "modrelu", "rac")
_TANH, _MODRELU, _RAC = range(3)  # the kinds as the loops take them (indices into KINDS)


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(-1, x.shape[-1])


def _addmm(bias: torch.Tensor, a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``bias + a @ b`` into ``out``: one matrix, or one per ensemble member (leading K axis)."""
    return (torch.addmm if a.dim() == 2 else torch.baddbmm)(bias, a, b, out=out)


def _product(a: torch.Tensor, b: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """``a @ b`` into ``out``: bmm for members, not matmul, whose checks cost a fifth of a small product."""
    return (torch.bmm if a.dim() == 3 else torch.matmul)(a, b, out=out)


def _carry(outside: torch.Tensor | None, grad_inner: torch.Tensor, w: torch.Tensor,
           out: torch.Tensor) -> torch.Tensor:
    """``∂L/∂h_{t-1}``: ``outside + grad_inner @ w`` into ``out`` (``outside`` None: no term from outside)."""
    if outside is None:
        return _product(grad_inner, w, out)
    return _addmm(outside, grad_inner, w, out=out)


def _product_transposed(out: torch.Tensor, m: torch.Tensor, state: torch.Tensor) -> torch.Tensor:
    """``m @ state^T`` into ``out``: a step product of the modReLU loops, transposed (see the module notes)."""
    return (torch.mm if state.dim() == 2 else torch.bmm)(m, state.transpose(-1, -2), out=out)


def _transposed_empty(block: torch.Tensor) -> torch.Tensor:
    """An empty ``(K, R, B)`` (or ``(R, B)``) tensor for the transposed product of a ``(K, B, R)`` step block."""
    return block.new_empty(block.transpose(-1, -2).shape)


def _time_major(x: torch.Tensor) -> torch.Tensor:
    """A view indexed by time first: ``(T, B, R)`` as it is, ``(K, T, B, R)`` as ``(T, K, B, R)``."""
    return x if x.dim() == 3 else x.transpose(0, 1)


def _member_rows(x: torch.Tensor) -> torch.Tensor:
    """Steps and sequences as the rows of one matrix per member: ``(T·B, R)`` or ``(K, T·B, R)`` (a view)."""
    return _flat(x) if x.dim() == 3 else x.reshape(x.shape[0], -1, x.shape[-1])


def _shifted(x: torch.Tensor, first: bool) -> torch.Tensor:
    """Steps ``1..T-1`` (``first=False``) or ``0..T-2`` (``first=True``) along the time axis."""
    time_axis = x.dim() - 3
    return x.narrow(time_axis, 0 if first else 1, x.shape[time_axis] - 1)


def _forward_loop(kind: int, drives: torch.Tensor, w_t: torch.Tensor, bias: torch.Tensor | None,
                  initial: torch.Tensor | None, states_storage: torch.Tensor) -> None:
    """Fill ``states_storage`` with the layer's states (``kind``: an index into :data:`KINDS`).

    The Python twin of ``forward_loop`` in ``_loops.cpp``: the same operations in the same order.
    """
    # every step's view made once (indexing a tensor per step costs more than the step's ops here)
    states, drive = _time_major(states_storage).unbind(0), _time_major(drives).unbind(0)
    steps = len(states)
    if kind == _RAC:
        states[0].copy_(drive[0])
        for t in range(1, steps):
            _product(states[t - 1], w_t, states[t])
            states[t].mul_(drive[t])
        return
    modrelu = kind == _MODRELU
    magnitude = torch.empty_like(states[0]) if modrelu else None
    transposed = _transposed_empty(states[0]) if modrelu else None  # z_t^T = W h_{t-1}^T
    for t in range(steps):
        h = states[t]
        if t == 0 and initial is None:
            h.copy_(drive[0])
        elif modrelu:  # z_t = (W h_{t-1}^T)^T + d_t (h_0 = initial)
            _product_transposed(transposed, w_t.transpose(-1, -2), initial if t == 0 else states[t - 1])
            torch.add(transposed.transpose(-1, -2), drive[t], out=h)
        else:  # z_t = h_{t-1} W^T + d_t
            _addmm(drive[t], initial if t == 0 else states[t - 1], w_t, out=h)
        if kind == _TANH:
            h.tanh_()
        else:
            torch.abs(h, out=magnitude).add_(bias).clamp_(min=0)
            h.sign_().mul_(magnitude)


def _backward_loop(kind: int, states_storage: torch.Tensor, w: torch.Tensor, drives_storage: torch.Tensor | None,
                   grad_output: torch.Tensor, last_only: bool, grad_inner_storage: torch.Tensor,
                   grad_bias: torch.Tensor | None, carried_storage: torch.Tensor | None,
                   grad_drives_storage: torch.Tensor | None) -> None:
    """Fill ``grad_inner_storage`` (and add into ``grad_bias``, fill ``grad_drives_storage``: rac).

    ``grad_inner``: ∂L/∂z_t (tanh, modrelu) or ∂L/∂(h_{t-1} W^T) (rac), every step;
    ``grad_bias`` (modrelu): Σ_t ∂L/∂b over the steps, per sequence, added in;
    ``grad_drives`` (rac): ∂L/∂d_t, from ``carried`` (W^H h_{t-1}, with W^H h_0 = 1).
    The Python twin of ``backward_loop`` in ``_loops.cpp``.
    """
    states = _time_major(states_storage).unbind(0)
    steps = len(states)
    # ∂L/∂h_t from outside the recurrence (the readout, the layer above); with last_only
    # only the last step has one, and the earlier steps skip adding it.
    if last_only:
        grad_states = [None] * (steps - 1) + [grad_output]
    else:
        grad_states = _time_major(grad_output).unbind(0)
    grad_inner = _time_major(grad_inner_storage).unbind(0)
    # ∂L/∂h_t through the readout, the layer above and h_{t+1}: two buffers used in turn,
    # so that the loop allocates nothing (small tensors stay in cache).
    buffers = [torch.empty_like(states[0]), torch.empty_like(states[0])]
    g = grad_states[steps - 1]
    if kind == _RAC:
        drives = _time_major(drives_storage).unbind(0)
        carried = _time_major(carried_storage).unbind(0)
        grad_drives = _time_major(grad_drives_storage).unbind(0)
        for t in range(steps - 1, -1, -1):
            torch.mul(g, carried[t], out=grad_drives[t])
            if t > 0:
                torch.mul(g, drives[t], out=grad_inner[t])
                g = _carry(grad_states[t - 1], grad_inner[t], w, buffers[t % 2])
        return
    modrelu = kind == _MODRELU
    if modrelu:
        scratch = torch.empty_like(states[0])
    if modrelu and last_only:  # no gradient from outside before the last step: the transposed product
        transposed = _transposed_empty(states[0])  # (∂L/∂h_{t-1} from h_t)^T = W^T grad_inner_t^T
        w_back = w.transpose(-1, -2).contiguous()
    for t in range(steps - 1, -1, -1):
        h = states[t]
        if modrelu:
            if t < steps - 1 and grad_states[t] is None:  # from the transposed product of step t + 1
                g = transposed.transpose(-1, -2)
            # ∂h/∂b = s = sign(h) and ∂h/∂z = [h != 0] = s², both exact: g s, then (g s) s
            torch.sign(h, out=scratch)
            torch.mul(g, scratch, out=grad_inner[t])
            grad_bias += grad_inner[t]
            grad_inner[t].mul_(scratch)
            if t > 0 and grad_states[t - 1] is not None:  # with a term from outside: one product adds it
                g = _carry(grad_states[t - 1], grad_inner[t], w, buffers[t % 2])
            elif t > 0:
                _product_transposed(transposed, w_back, grad_inner[t])
        else:
            torch.mul(h, h, out=grad_inner[t])
            torch.addcmul(g, g, grad_inner[t], value=-1.0, out=grad_inner[t])  # g (1 - h²)
            if t > 0:
                g = _carry(grad_states[t - 1], grad_inner[t], w, buffers[t % 2])


def _loops(device: torch.device):
    """``(forward_loop, backward_loop)``: compiled (CPU, when built) or the Python ones."""
    ops = compiled_ops_for(device)
    if ops is None:
        return _forward_loop, _backward_loop
    return ops.forward_loop, ops.backward_loop


class _Recurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, kind: str, drives: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None,
                initial: torch.Tensor | None, last_only: bool):
        states_storage = torch.empty_like(drives)
        forward_loop, _ = _loops(drives.device)
        forward_loop(KINDS.index(kind), drives, w.transpose(-1, -2), bias, initial, states_storage)
        ctx.kind, ctx.last_only = kind, last_only
        ctx.bias_shape = None if bias is None else bias.shape
        ctx.save_for_backward(states_storage, w, drives if kind == "rac" else None, initial)
        if last_only:  # a copy: the saved states are not handed out
            return _time_major(states_storage)[-1].clone()
        return states_storage

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor):
        states_storage, w, drives_storage, initial = ctx.saved_tensors
        kind = ctx.kind
        steps = _time_major(states_storage).shape[0]
        grad_inner_storage = torch.empty_like(states_storage)
        grad_bias = carried_storage = grad_drives_storage = None
        if kind == "rac":
            carried_storage = torch.empty_like(states_storage)  # W^H h_{t-1}, with W^H h_0 = 1
            _time_major(carried_storage)[0].fill_(1.0)
            if steps > 1:
                _member_rows(_shifted(carried_storage, first=False)).copy_(
                    _member_rows(_shifted(states_storage, first=True)) @ w.transpose(-1, -2))
            grad_drives_storage = torch.empty_like(states_storage)
        elif kind == "modrelu":
            grad_bias = torch.zeros_like(_time_major(states_storage)[0])  # summed over the sequences at the end
        _, backward_loop = _loops(states_storage.device)
        backward_loop(KINDS.index(kind), states_storage, w, drives_storage, grad_output.contiguous(), ctx.last_only,
                      grad_inner_storage, grad_bias, carried_storage, grad_drives_storage)
        if kind != "rac":
            grad_drives_storage = grad_inner_storage
        if grad_bias is not None:
            grad_bias = grad_bias.sum(-2).reshape(ctx.bias_shape)
        grad_w = None
        if ctx.needs_input_grad[2]:
            if steps > 1:  # ∂L/∂W = Σ_t g_t^T h_{t-1}: one product over all steps and sequences
                grad_w = (_member_rows(_shifted(grad_inner_storage, first=False)).transpose(-1, -2)
                          @ _member_rows(_shifted(states_storage, first=True)))
            else:
                grad_w = torch.zeros_like(w)
            if initial is not None:  # the first step's term g_1^T h_0
                grad_w = grad_w + _time_major(grad_inner_storage)[0].transpose(-1, -2) @ initial
        return None, grad_drives_storage, grad_w, grad_bias, None, None


def recurrence(kind: str, drives: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None = None,
               initial: torch.Tensor | None = None, *, last_only: bool = False) -> torch.Tensor:
    """States ``(T, B, R)`` of one recurrent layer from its input drives ``(T, B, R)``.

    With a leading member axis (``drives`` ``(K, T, B, R)``, ``w`` ``(K, R, R)``,
    ``bias`` ``(K, 1, R)``) it runs K independent layers at once, one weight matrix per
    member, as batched matrix products: the recurrence of an ensemble
    (:mod:`tnrnn.nn.ensemble`). Members come first so that every whole-sequence product
    (input projection, readout, weight gradient) is one batched product over
    ``(K, T·B, R)`` views, without copies.

    Parameters
    ----------
    kind : {"tanh", "modrelu", "rac"}
    drives : torch.Tensor, shape (T, B, R) or (K, T, B, R)
        ``W^I x_t`` (plus the input bias, if any) for every step.
    w : torch.Tensor, shape (R, R) or (K, R, R)
        ``W^H``.
    bias : torch.Tensor, shape (R,) or (K, 1, R), optional
        The modReLU bias (modrelu only).
    initial : torch.Tensor, shape (B, R) or (K, B, R), optional
        The state ``h_0`` (tanh and modrelu; default 0), a constant: no gradient flows to it.
    last_only : bool
        Return the last state only, ``(B, R)`` or ``(K, B, R)``: for a top layer whose
        readout reads nothing else (the same numbers as ``recurrence(...)[-1]``, and its
        backward pass adds no outside gradient at the other steps).

    Returns
    -------
    torch.Tensor, the shape of ``drives`` (without its time axis if ``last_only``)

    Notes
    -----
    O(T · K · B · R²) time forward and backward; O(T · K · B · R) memory (the states,
    plus the drives for rac).

    Examples
    --------
    >>> d, w = torch.randn(5, 2, 3, dtype=torch.float64), torch.randn(3, 3, dtype=torch.float64)
    >>> h = recurrence("rac", d, w)
    >>> bool(torch.allclose(h[2], (h[1] @ w.T) * d[2]))
    True
    >>> stacked = recurrence("rac", torch.stack([d, 2 * d]), torch.stack([w, w]))
    >>> bool(torch.allclose(stacked[0], h)), tuple(stacked.shape)
    (True, (2, 5, 2, 3))
    >>> bool(torch.equal(recurrence("rac", d, w, last_only=True), h[-1]))
    True
    """
    if kind not in KINDS:
        raise ValueError(f"unknown recurrence {kind!r}; valid: {', '.join(KINDS)}")
    batched = drives.dim() == 4
    width = drives.shape[-1]
    expected_w = (drives.shape[0], width, width) if batched else (width, width)
    if drives.dim() not in (3, 4) or tuple(w.shape) != expected_w:
        raise ValueError(f"drives must be (T, B, R) with w (R, R), or (K, T, B, R) with w (K, R, R); "
                         f"got {tuple(drives.shape)} and {tuple(w.shape)}")
    if (kind == "modrelu") != (bias is not None):
        raise ValueError("the modrelu recurrence needs a bias, the others take none")
    if bias is not None:
        expected_bias = (drives.shape[0], 1, width) if batched else (width,)
        if tuple(bias.shape) != expected_bias:
            raise ValueError(f"bias must have shape {expected_bias}, got {tuple(bias.shape)}")
    if initial is not None:
        if kind == "rac":
            raise ValueError("the rac recurrence starts from the convention W^H h_0 = 1: it takes no initial state")
        expected_initial = tuple(drives.shape[:1]) + tuple(drives.shape[2:]) if batched else tuple(drives.shape[1:])
        if tuple(initial.shape) != expected_initial:
            raise ValueError(f"initial must have shape {expected_initial}, got {tuple(initial.shape)}")
        initial = initial.detach().contiguous()
    return _Recurrence.apply(kind, drives.contiguous(), w, bias, initial, bool(last_only))
