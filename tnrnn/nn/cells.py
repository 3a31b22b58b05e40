"""Recurrent layers that unroll one cell over a whole sequence: RAC, tanh, modReLU.

Each layer maps a state sequence ``(B, T, fan_in)`` from below to its own
``(B, T, R)`` (Levine et al., arXiv:1710.09431; Ziv, arXiv:2003.10163)::

    RAC      h_t = (W^H h_{t-1}) ⊙ (W^I x_t)        h_1 = W^I x_1   (convention W^H h_0 = 1)
    tanh     h_t = tanh(W^H h_{t-1} + W^I x_t + b)   h_0 = 0
    modReLU  h_t = σ_b(W^H h_{t-1} + W^I x_t)        h_0 = 0,  σ_b(z) = sign(z) relu(|z| + b)

The RAC layer has no bias and no nonlinearity, so a stack of RAC layers is exactly a
Recurrent Arithmetic Circuit (:mod:`tnrnn.rac.circuits`). ``W^H`` can be orthogonal
(:func:`tnrnn.nn.orthogonal.orthogonalize`); it is read once per forward pass, before
the time loop, the input projections of all steps are one matrix product, and the loop
runs in :func:`tnrnn.nn.recurrence.recurrence` (hand-written backward through time).
"""

from __future__ import annotations

import functools
import math

import torch
import torch.nn.functional as F
from torch import nn

from tnrnn.nn.orthogonal import orthogonalize
from tnrnn.nn.recurrence import recurrence

__all__ = ["RecurrentLayer", "RACLayer", "TanhLayer", "ModReLULayer", "modrelu", "LAYERS", "clip_linf"]


def modrelu(z: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """``sign(z) · relu(|z| + bias)`` (Arjovsky et al. 2016, real version).

    Examples
    --------
    >>> modrelu(torch.tensor([-2.0, 0.5, 3.0]), torch.tensor(-1.0)).tolist()
    [-1.0, 0.0, 2.0]
    """
    return z.sign() * F.relu(z.abs() + bias)


class RecurrentLayer(nn.Module):
    """Common part: input projection ``W^I`` (``self.input``) and hidden matrix ``W^H`` (``self.recurrent``).

    Parameters
    ----------
    input_size : int
        Fan-in (the task input for layer 1, R above).
    hidden_size : int
        R.
    orthogonal : str or None
        Orthogonal map for ``W^H`` (see :mod:`tnrnn.nn.orthogonal`) or None (unconstrained).
    orthogonal_init : str
        Initial orthogonal matrix (when ``orthogonal`` is set).
    generator : torch.Generator, optional
        Randomness of the initialisation.
    """

    input_bias = False

    def __init__(self, input_size: int, hidden_size: int, orthogonal: str | None = None,
                 orthogonal_init: str = "henaff", generator: torch.Generator | None = None) -> None:
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        self.input = nn.Linear(input_size, hidden_size, bias=self.input_bias)
        self.recurrent = nn.Linear(hidden_size, hidden_size, bias=False)
        self._init_weights(generator)
        if orthogonal is not None:
            orthogonalize(self.recurrent, orthogonal, orthogonal_init, generator)

    def _init_weights(self, generator) -> None:
        bound = 1.0 / math.sqrt(self.input_size)
        with torch.no_grad():
            self.input.weight.uniform_(-bound, bound, generator=generator)
            if self.input.bias is not None:
                self.input.bias.zero_()
            q, r = torch.linalg.qr(torch.randn(self.hidden_size, self.hidden_size, generator=generator))
            self.recurrent.weight.copy_(q * torch.sign(torch.diagonal(r)))

    def hidden_matrix(self) -> torch.Tensor:
        """``W^H`` (evaluates the orthogonal map, if any)."""
        return self.recurrent.weight

    #: Name of the recurrence in :func:`tnrnn.nn.recurrence.recurrence`.
    kind = ""
    #: Use the fused recurrence (hand-written backward); False runs the plain autograd loop.
    fused = True

    #: Rescale the gradient of ``W^H`` to an ∞-norm of at most this (None: no clipping).
    recurrent_clip: float | None = None

    def forward(self, x: torch.Tensor, initial: torch.Tensor | None = None) -> torch.Tensor:
        """States ``(B, T, R)`` of the sequence ``x`` ``(B, T, fan_in)``."""
        return self.forward_time_major(x.transpose(0, 1), initial).transpose(0, 1)

    def forward_time_major(self, x: torch.Tensor, initial: torch.Tensor | None = None) -> torch.Tensor:
        """States ``(T, B, R)`` of ``x`` ``(T, B, fan_in)`` (the layout the stack keeps throughout).

        ``initial`` ``(B, R)`` is the state ``h_0`` (default 0; tanh and modReLU only).
        """
        w = self.recurrent_matrix()
        if self.fused:
            bias = getattr(self, "bias", None)
            return recurrence(self.kind, self.input(x), w, bias, initial)
        if initial is not None:
            raise ValueError("the reference unrolled loop starts from h_0 = 0")
        return torch.stack(self._unroll(self.input(x).unbind(0), w.T), dim=0)

    def recurrent_matrix(self) -> torch.Tensor:
        """``W^H`` as the forward pass uses it: with the ∞-norm clip of its gradient, if set."""
        w = self.hidden_matrix()
        if self.recurrent_clip is not None and w.requires_grad and torch.is_grad_enabled():
            w.register_hook(functools.partial(clip_linf, threshold=self.recurrent_clip))
        return w

    def _unroll(self, drives, w_t) -> list[torch.Tensor]:
        """The same recurrence as a plain autograd loop (the reference for the fused one)."""
        raise NotImplementedError


def clip_linf(grad: torch.Tensor, threshold: float) -> torch.Tensor:
    """The gradient rescaled to an ∞-norm (largest absolute entry) of at most ``threshold``.

    A gradient with a non-finite entry becomes 0, as in the scoRNN code of Levine et al.
    (arXiv:1710.09431) and Ziv (arXiv:2003.10163).

    Examples
    --------
    >>> clip_linf(torch.tensor([1.0, -20.0]), 10.0).tolist()
    [0.5, -10.0]
    >>> clip_linf(torch.tensor([1.0, float("nan")]), 10.0).tolist()
    [0.0, 0.0]
    """
    if not bool(torch.isfinite(grad).all()):
        return torch.zeros_like(grad)
    largest = grad.abs().max()
    return grad * (threshold / largest) if largest > threshold else grad


class RACLayer(RecurrentLayer):
    """Multiplicative integration without nonlinearity: one layer of a RAC.

    ``W^{I,1}`` (one-hot inputs) starts near 1 so that ``W^I x_t ≈ 1`` and the state is at
    first carried by ``W^H`` alone; deeper ``W^I`` start near the identity.

    Examples
    --------
    >>> layer = RACLayer(3, 4)
    >>> x = torch.eye(3)[torch.tensor([[0, 2]])]
    >>> h = layer(x)
    >>> w_i, w_h = layer.input.weight, layer.recurrent.weight
    >>> bool(torch.allclose(h[0, 1], (w_h @ w_i[:, 0]) * w_i[:, 2]))
    True
    """

    def _init_weights(self, generator) -> None:
        super()._init_weights(generator)
        with torch.no_grad():
            noise = 0.1 * torch.randn(self.hidden_size, self.input_size, generator=generator)
            if self.input_size == self.hidden_size:
                start = torch.eye(self.hidden_size)
            else:
                start = torch.ones(self.hidden_size, self.input_size)
            self.input.weight.copy_(start + noise)

    kind = "rac"

    def _unroll(self, drives, w_t):
        h = drives[0]
        states = [h]
        for d in drives[1:]:
            h = (h @ w_t) * d
            states.append(h)
        return states


class TanhLayer(RecurrentLayer):
    """``h_t = tanh(W^H h_{t-1} + W^I x_t + b)``."""

    input_bias = True
    kind = "tanh"

    def _unroll(self, drives, w_t):
        h = torch.tanh(drives[0])
        states = [h]
        for d in drives[1:]:
            h = torch.tanh(torch.addmm(d, h, w_t))
            states.append(h)
        return states


class ModReLULayer(RecurrentLayer):
    """``h_t = modReLU_b(W^H h_{t-1} + W^I x_t)``, ``b`` initialised uniform in [-0.01, 0.01]."""

    def __init__(self, input_size: int, hidden_size: int, orthogonal: str | None = None,
                 orthogonal_init: str = "henaff", generator: torch.Generator | None = None) -> None:
        super().__init__(input_size, hidden_size, orthogonal, orthogonal_init, generator)
        self.bias = nn.Parameter(torch.empty(hidden_size).uniform_(-0.01, 0.01, generator=generator))

    kind = "modrelu"

    def _unroll(self, drives, w_t):
        b = self.bias
        h = modrelu(drives[0], b)
        states = [h]
        for d in drives[1:]:
            h = modrelu(torch.addmm(d, h, w_t), b)
            states.append(h)
        return states


#: Cell name -> layer class (LSTM and GRU come from torch, see :mod:`tnrnn.nn.stack`).
LAYERS: dict[str, type[RecurrentLayer]] = {"rac": RACLayer, "tanh": TanhLayer, "modrelu": ModReLULayer}
