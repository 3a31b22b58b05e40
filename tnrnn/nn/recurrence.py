"""Fused unrolled recurrences with a hand-written backward pass through time.

``recurrence(kind, drives, w, bias)`` computes the whole state sequence of one layer::

    tanh     h_t = tanh(h_{t-1} W^T + d_t)                     h_0 = 0
    modrelu  h_t = sign(z_t) relu(|z_t| + b),  z_t = h_{t-1} W^T + d_t
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
"""

from __future__ import annotations

import torch

__all__ = ["recurrence", "KINDS"]

#: Recurrences implemented here.
KINDS = ("tanh", "modrelu", "rac")


def _flat(x: torch.Tensor) -> torch.Tensor:
    return x.reshape(-1, x.shape[-1])


class _Recurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, kind: str, drives: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None):
        steps = drives.shape[0]
        w_t = w.T
        states = torch.empty_like(drives)
        if kind == "rac":
            states[0].copy_(drives[0])
            for t in range(1, steps):
                torch.mm(states[t - 1], w_t, out=states[t])
                states[t].mul_(drives[t])
        else:
            for t in range(steps):
                h = states[t]
                if t == 0:
                    h.copy_(drives[0])
                else:
                    torch.addmm(drives[t], states[t - 1], w_t, out=h)
                if kind == "tanh":
                    h.tanh_()
                else:
                    magnitude = h.abs().add_(bias).clamp_(min=0)
                    h.sign_().mul_(magnitude)
        ctx.kind = kind
        ctx.save_for_backward(states, w, drives if kind == "rac" else None)
        return states

    @staticmethod
    def backward(ctx, grad_states: torch.Tensor):
        states, w, drives = ctx.saved_tensors
        kind = ctx.kind
        steps = states.shape[0]
        grad_inner = torch.empty_like(states)  # ∂L/∂z_t (tanh, modrelu) or ∂L/∂(h_{t-1} W^T) (rac)
        # ∂L/∂h_t through the readout, the layer above and h_{t+1}: two buffers used in turn,
        # so that the loop allocates nothing (small tensors stay in cache).
        buffers = [torch.empty_like(states[0]), torch.empty_like(states[0])]
        g = grad_states[steps - 1]
        grad_bias = None
        if kind == "rac":
            carried = torch.empty_like(states)
            carried[0].fill_(1.0)
            if steps > 1:
                torch.mm(_flat(states[:-1]), w.T, out=_flat(carried[1:]))
            grad_drives = torch.empty_like(states)
            for t in range(steps - 1, -1, -1):
                torch.mul(g, carried[t], out=grad_drives[t])
                if t > 0:
                    torch.mul(g, drives[t], out=grad_inner[t])
                    g = torch.addmm(grad_states[t - 1], grad_inner[t], w, out=buffers[t % 2])
        else:
            modrelu = kind == "modrelu"
            if modrelu:
                grad_bias = torch.zeros_like(states[0, 0])
                scratch = torch.empty_like(states[0])
            for t in range(steps - 1, -1, -1):
                h = states[t]
                if modrelu:
                    torch.sign(h, out=scratch)  # ∂h/∂b = sign(h); ∂h/∂z = [h != 0] = |sign(h)|
                    torch.mul(g, scratch, out=grad_inner[t])
                    grad_bias += grad_inner[t].sum(0)
                    scratch.abs_()
                    torch.mul(g, scratch, out=grad_inner[t])
                else:
                    torch.mul(h, h, out=grad_inner[t])
                    torch.addcmul(g, g, grad_inner[t], value=-1.0, out=grad_inner[t])  # g (1 - h²)
                if t > 0:
                    g = torch.addmm(grad_states[t - 1], grad_inner[t], w, out=buffers[t % 2])
            grad_drives = grad_inner
        grad_w = None
        if ctx.needs_input_grad[2]:
            grad_w = (_flat(grad_inner[1:]).T @ _flat(states[:-1]) if steps > 1 else torch.zeros_like(w))
        return None, grad_drives, grad_w, grad_bias


def recurrence(kind: str, drives: torch.Tensor, w: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """States ``(T, B, R)`` of one recurrent layer from its input drives ``(T, B, R)``.

    Parameters
    ----------
    kind : {"tanh", "modrelu", "rac"}
    drives : torch.Tensor, shape (T, B, R)
        ``W^I x_t`` (plus the input bias, if any) for every step.
    w : torch.Tensor, shape (R, R)
        ``W^H``.
    bias : torch.Tensor, shape (R,), optional
        The modReLU bias (modrelu only).

    Returns
    -------
    torch.Tensor, shape (T, B, R)

    Notes
    -----
    O(T · B · R²) time forward and backward; O(T · B · R) memory (the states, plus the
    drives for rac).

    Examples
    --------
    >>> d, w = torch.randn(5, 2, 3, dtype=torch.float64), torch.randn(3, 3, dtype=torch.float64)
    >>> h = recurrence("rac", d, w)
    >>> bool(torch.allclose(h[2], (h[1] @ w.T) * d[2]))
    True
    """
    if kind not in KINDS:
        raise ValueError(f"unknown recurrence {kind!r}; valid: {', '.join(KINDS)}")
    if drives.dim() != 3 or w.shape != (drives.shape[2], drives.shape[2]):
        raise ValueError(f"drives must be (T, B, R) and w (R, R), got {tuple(drives.shape)} and {tuple(w.shape)}")
    if (kind == "modrelu") != (bias is not None):
        raise ValueError("the modrelu recurrence needs a bias, the others take none")
    return _Recurrence.apply(kind, drives.contiguous(), w, bias)
