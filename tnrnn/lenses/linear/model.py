"""Linear RNNs and their equivalent scaled convolutions (torch modules).

``h_t = W h_{t-1} + F x_t``, ``y_t = C h_t (+ D x_t)``, ``h_0 = 0``: a convolution
``y_t = D x_t + sum_{j=1}^{t} K_j x_{t-j+1}`` with Markov parameters ``K_j = C W^{j-1} F``
(lag j multiplies the input j-1 steps back; ``K_1 = C F`` acts on the current input).

``x`` has shape (batch, T, input_size) and ``y`` (batch, T, output_size) throughout.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from tnrnn.lenses.linear.theory import (
    check_lags,
    check_parameterization,
    check_sigma,
    check_width,
    lag_weights,
)

__all__ = ["LinearRNN", "ScaledConvolution", "impulse_response", "lagged_inputs", "convolve"]


def _check_sequences(x: torch.Tensor, input_size: int) -> None:
    if x.dim() != 3 or x.shape[-1] != input_size:
        raise ValueError(f"x must have shape (batch, T, input_size={input_size}), got {tuple(x.shape)}")


def lagged_inputs(x: torch.Tensor, lags: int) -> torch.Tensor:
    """Stack delayed copies of the input: ``out[b, t, j-1] = x[b, t-j+1]`` (0 before the start).

    Parameters
    ----------
    x : Tensor, shape (batch, T, d)
    lags : int

    Returns
    -------
    Tensor, shape (batch, T, lags, d)

    Examples
    --------
    >>> lagged_inputs(torch.tensor([[[1.], [2.], [3.]]]), 2)[0, :, :, 0]
    tensor([[1., 0.],
            [2., 1.],
            [3., 2.]])
    """
    lags = check_lags(lags)
    if x.dim() != 3:
        raise ValueError(f"x must have shape (batch, T, d), got {tuple(x.shape)}")
    length = x.shape[1]
    padded = torch.nn.functional.pad(x, (0, 0, lags - 1, 0))
    # padded[:, t + lags - 1 - (j - 1)] = x[:, t - j + 1]
    return torch.stack([padded[:, lags - j: lags - j + length] for j in range(1, lags + 1)], dim=2)


def convolve(markov: torch.Tensor, x: torch.Tensor, direct: torch.Tensor | None = None,
             lagged: torch.Tensor | None = None) -> torch.Tensor:
    """``y_t = D x_t + sum_j K_j x_{t-j+1}`` for Markov parameters ``K`` of shape (J, out, in).

    ``lagged`` (the output of :func:`lagged_inputs` for ``x``) may be passed to reuse it.

    Examples
    --------
    >>> K = torch.tensor([[[1.]], [[10.]]])
    >>> convolve(K, torch.tensor([[[1.], [2.], [3.]]]))[0, :, 0]
    tensor([ 1., 12., 23.])
    """
    if markov.dim() != 3:
        raise ValueError(f"markov must have shape (lags, output_size, input_size), got {tuple(markov.shape)}")
    if lagged is None:
        lagged = lagged_inputs(x, markov.shape[0])
    y = torch.einsum("btjd,jod->bto", lagged, markov)
    if direct is not None:
        y = y + x @ direct.T
    return y


def impulse_response(W: torch.Tensor, F: torch.Tensor, C: torch.Tensor, lags: int) -> torch.Tensor:
    """Markov parameters ``K_j = C W^{j-1} F``, ``j = 1..lags``, shape (lags, out, in).

    Notes
    -----
    ``lags`` products of W with the n x in block: O(lags n^2 in), never a matrix power.

    Examples
    --------
    >>> W = torch.tensor([[0.5, 0.0], [1.0, 0.5]])
    >>> impulse_response(W, torch.tensor([[1.0], [0.0]]), torch.tensor([[0.0, 1.0]]), 3)[:, 0, 0]
    tensor([0., 1., 1.])
    """
    lags = check_lags(lags)
    state, out = F, []
    for j in range(lags):
        if j:
            state = W @ state
        out.append(C @ state)
    return torch.stack(out)


class _ImpulseResponse(torch.autograd.Function):
    """``impulse_response`` with a hand-written adjoint, for training wide RNNs.

    Autograd through the loop accumulates ``grad_W`` as ``lags`` separate n x n outer
    products; here the adjoint states ``lam_k = C^T G_{k+1} + W^T lam_{k+1}`` are stacked
    and ``grad_W = Lam S^T`` is one matrix product (measured 3.4x faster forward+backward
    at n = 1000, 24 lags, one CPU thread: 17 ms against 58 ms).
    Not usable under torch.func transforms: the kernel code uses :func:`impulse_response`.
    """

    @staticmethod
    def forward(ctx, W, F, C, lags):
        states = [F]
        for _ in range(lags - 1):
            states.append(W @ states[-1])
        states = torch.stack(states)  # (lags, n, in)
        ctx.save_for_backward(W, C, states)
        return torch.einsum("on,jni->joi", C, states)

    @staticmethod
    def backward(ctx, grad):
        W, C, states = ctx.saved_tensors
        lags = states.shape[0]
        direct = torch.einsum("on,joi->jni", C, grad)  # dL/ds_k through K_{k+1}
        adjoints = [direct[-1]]
        for k in range(lags - 2, -1, -1):
            adjoints.append(direct[k] + W.T @ adjoints[-1])
        adjoints = torch.stack(adjoints[::-1])  # adjoints[k] = dL/ds_k
        n = W.shape[0]
        grad_W = adjoints[1:].permute(1, 0, 2).reshape(n, -1) @ states[:-1].permute(1, 0, 2).reshape(n, -1).T
        grad_C = torch.einsum("joi,jni->on", grad, states)
        return grad_W, adjoints[0], grad_C, None


class LinearRNN(nn.Module):
    """Linear RNN in the NTK or standard parameterisation.

    Trained parameters ``transition`` (n x n), ``input_map`` (n x input_size), ``readout``
    (output_size x n) and, with ``direct=True``, ``direct`` (output_size x input_size,
    initialised to 0). The effective matrices are ``W = a_W transition``, ``F = a_F input_map``,
    ``C = a_C readout`` with

    * ``'ntk'``: ``a_W = sigma_w/sqrt(n)``, ``a_C = sigma_c/sqrt(n)``, ``a_F = sigma_f``, entries N(0, 1);
    * ``'standard'``: all ``a = 1``, entries N(0, sigma_w^2/n), N(0, sigma_c^2/n), N(0, sigma_f^2).

    Both give the same function at initialisation (same seed, same W, F, C); they differ
    in what gradient descent moves (see :mod:`tnrnn.lenses.linear.theory`).

    Parameters
    ----------
    width : int
        n, the hidden width.
    sigma_w, sigma_c, sigma_f : float
        Scales (> 0) of W, C, F.
    parameterization : {'ntk', 'standard'}
    input_size, output_size : int
    direct : bool
        Add the direct term ``D x_t``.
    seed : int
        Seed of the initial draw (a private generator; the global RNG is untouched).
    dtype, device
        Of the parameters (default float64, CPU).

    Examples
    --------
    >>> rnn = LinearRNN(8, sigma_w=0.9, seed=0)
    >>> x = torch.randn(2, 5, 1, dtype=torch.float64)
    >>> torch.allclose(rnn(x), convolve(rnn.markov_parameters(5), x))
    True
    """

    def __init__(self, width: int, sigma_w: float = 1.0, sigma_c: float = 1.0, sigma_f: float = 1.0, *,
                 parameterization: str = "ntk", input_size: int = 1, output_size: int = 1,
                 direct: bool = False, seed: int = 0, dtype: torch.dtype = torch.float64,
                 device: str | torch.device | None = None) -> None:
        super().__init__()
        self.width = check_width(width)
        self.sigma_w = check_sigma("sigma_w", sigma_w)
        self.sigma_c = check_sigma("sigma_c", sigma_c)
        self.sigma_f = check_sigma("sigma_f", sigma_f)
        self.parameterization = check_parameterization(parameterization)
        for name, size in (("input_size", input_size), ("output_size", output_size)):
            if isinstance(size, bool) or not isinstance(size, int) or size < 1:
                raise ValueError(f"{name} must be a positive integer, got {size!r}")
        self.input_size, self.output_size = input_size, output_size
        n = self.width
        generator = torch.Generator().manual_seed(int(seed))
        draws = {name: torch.randn(shape, generator=generator, dtype=torch.float64)
                 for name, shape in (("transition", (n, n)), ("input_map", (n, input_size)),
                                     ("readout", (output_size, n)))}
        scale = {"transition": self.sigma_w / math.sqrt(n), "input_map": self.sigma_f,
                 "readout": self.sigma_c / math.sqrt(n)}
        if self.parameterization == "ntk":
            self.multipliers = dict(scale)
        else:
            self.multipliers = dict.fromkeys(scale, 1.0)
            draws = {name: value * scale[name] for name, value in draws.items()}
        for name, value in draws.items():
            self.register_parameter(name, nn.Parameter(value.to(dtype=dtype, device=device)))
        if direct:
            self.direct = nn.Parameter(torch.zeros(output_size, input_size, dtype=dtype, device=device))
        else:
            self.direct = None

    @property
    def W(self) -> torch.Tensor:
        """The effective transition matrix."""
        return self.multipliers["transition"] * self.transition

    @property
    def F(self) -> torch.Tensor:
        """The effective input matrix."""
        return self.multipliers["input_map"] * self.input_map

    @property
    def C(self) -> torch.Tensor:
        """The effective readout matrix."""
        return self.multipliers["readout"] * self.readout

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Run the recurrence from ``h_0 = 0``; x (batch, T, input_size) -> y (batch, T, output_size).

        Notes
        -----
        O(batch T n^2). For a long training run on many sequences,
        ``convolve(self.markov_parameters(T), x)`` is the same function in O(T n^2 + batch T^2).
        """
        _check_sequences(x, self.input_size)
        W, F, C = self.W, self.F, self.C
        h = x.new_zeros(x.shape[0], self.width)
        outputs = []
        for t in range(x.shape[1]):
            h = h @ W.T + x[:, t] @ F.T
            outputs.append(h @ C.T)
        y = torch.stack(outputs, dim=1)
        if self.direct is not None:
            y = y + x @ self.direct.T
        return y

    def markov_parameters(self, lags: int) -> torch.Tensor:
        """``K_j = C W^{j-1} F`` for ``j = 1..lags``, shape (lags, output_size, input_size).

        Notes
        -----
        ``lags`` matrix products of W with the n x input_size block: O(lags n^2 input_size).
        """
        return _ImpulseResponse.apply(self.W, self.F, self.C, check_lags(lags))

    def lag_weights(self, lags: int) -> np.ndarray:
        """The theoretical ``beta_j^2`` of this model's parameterisation and scales."""
        return lag_weights(lags, self.sigma_w, self.sigma_c, self.sigma_f,
                           parameterization=self.parameterization, width=self.width)

    def extra_repr(self) -> str:
        return (f"width={self.width}, sigma_w={self.sigma_w}, sigma_c={self.sigma_c}, sigma_f={self.sigma_f}, "
                f"parameterization={self.parameterization!r}, direct={self.direct is not None}")


class ScaledConvolution(nn.Module):
    """The scaled convolutional model ``y_t = D x_t + sum_j beta_j Kt_j x_{t-j+1}``.

    Trained parameters: ``normalized`` (``Kt``, shape (lags, output_size, input_size)) and
    optionally ``direct``. Gradient descent on ``Kt`` moves ``K_j = beta_j Kt_j`` with rate
    ``beta_j^2``: the infinite-width dynamics of the linear RNN (:mod:`tnrnn.lenses.linear.theory`).

    Parameters
    ----------
    weights : array_like, shape (lags,)
        ``beta_j^2 > 0``, e.g. :func:`~tnrnn.lenses.linear.theory.lag_weights`.
    input_size, output_size : int
    direct : bool
    initial : Tensor, optional
        Initial Markov parameters ``K`` (shape (lags, output_size, input_size)); default zeros.
    dtype, device

    Examples
    --------
    >>> rnn = LinearRNN(16, sigma_w=0.5, seed=1)
    >>> conv = ScaledConvolution.from_rnn(rnn, lags=6)
    >>> x = torch.randn(3, 6, 1, dtype=torch.float64)
    >>> torch.allclose(conv(x), rnn(x))
    True
    """

    def __init__(self, weights, *, input_size: int = 1, output_size: int = 1, direct: bool = False,
                 initial: torch.Tensor | None = None, dtype: torch.dtype = torch.float64,
                 device: str | torch.device | None = None) -> None:
        super().__init__()
        weights = torch.as_tensor(np.asarray(weights, dtype=np.float64), dtype=dtype, device=device)
        if weights.dim() != 1 or weights.numel() < 1 or not bool(torch.all(weights > 0)):
            raise ValueError(f"weights must be a non-empty 1-D array of positive beta_j^2, got {weights}")
        self.input_size, self.output_size = input_size, output_size
        self.register_buffer("beta", torch.sqrt(weights))
        shape = (weights.numel(), output_size, input_size)
        if initial is None:
            normalized = torch.zeros(shape, dtype=dtype, device=device)
        else:
            initial = torch.as_tensor(initial, dtype=dtype, device=device)
            if tuple(initial.shape) != shape:
                raise ValueError(f"initial must have shape {shape}, got {tuple(initial.shape)}")
            normalized = initial / self.beta[:, None, None]
        self.normalized = nn.Parameter(normalized)
        self.direct = nn.Parameter(torch.zeros(output_size, input_size, dtype=dtype, device=device)) \
            if direct else None

    @classmethod
    def from_rnn(cls, rnn: LinearRNN, lags: int) -> ScaledConvolution:
        """The scaled model with ``rnn``'s theoretical weights, starting from its current response."""
        with torch.no_grad():
            initial = rnn.markov_parameters(lags).detach().clone()
        model = cls(rnn.lag_weights(lags), input_size=rnn.input_size, output_size=rnn.output_size,
                    direct=rnn.direct is not None, initial=initial, dtype=initial.dtype, device=initial.device)
        if rnn.direct is not None:
            with torch.no_grad():
                model.direct.copy_(rnn.direct)
        return model

    @property
    def lags(self) -> int:
        return self.beta.numel()

    def markov_parameters(self, lags: int | None = None) -> torch.Tensor:
        """``K_j = beta_j Kt_j``, shape (lags, output_size, input_size) (all lags by default)."""
        markov = self.beta[:, None, None] * self.normalized
        return markov if lags is None else markov[: check_lags(lags)]

    def forward(self, x: torch.Tensor, lagged: torch.Tensor | None = None) -> torch.Tensor:
        """x (batch, T, input_size) -> y (batch, T, output_size); lags beyond ``self.lags`` are 0."""
        _check_sequences(x, self.input_size)
        return convolve(self.markov_parameters(), x, self.direct, lagged)
