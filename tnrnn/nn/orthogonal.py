"""Orthogonal hidden-to-hidden matrices: PyTorch's maps and scoRNN's scaled Cayley map.

``orthogonalize(linear, map, init)`` constrains the square ``weight`` of an
``nn.Linear`` to be orthogonal, by a parametrization (``torch.nn.utils.parametrize``):

- ``"cayley"``, ``"matrix_exp"``, ``"householder"``:
  :func:`torch.nn.utils.parametrizations.orthogonal` (with its default dynamic
  trivialization: ``W = B · φ(A)``, the base ``B`` fixed to the initial matrix,
  ``φ(0) = I``);
- ``"scaled_cayley"``: ``W = (I + A)^{-1} (I - A) D`` (Helfrich, Willmott & Ye, arXiv:1707.09520,
  scoRNN, the cell of the experiments of Levine et al., arXiv:1710.09431, and Ziv,
  arXiv:2003.10163), ``A`` skew-symmetric, ``D`` a fixed diagonal
  of ±1 (the first ``floor(R/2)`` entries -1).

The trainable tensor of every map is ``linear.parametrizations.weight.original``
(:func:`orthogonal_parameters` finds them, for the separate learning rate). Reading
``linear.weight`` evaluates the map: read it once per forward pass, before the time loop.
"""

from __future__ import annotations

import math

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import orthogonal as torch_orthogonal

__all__ = ["ORTHOGONAL_MAPS", "ORTHOGONAL_INITS", "ScaledCayley", "orthogonalize", "orthogonal_parameters",
           "skew_init", "orthogonality_error"]

#: Names accepted for the orthogonal map.
ORTHOGONAL_MAPS = ("cayley", "matrix_exp", "householder", "scaled_cayley")

#: Initialisations of the orthogonal matrix (see :func:`skew_init`).
ORTHOGONAL_INITS = ("henaff", "cayley", "random")


class ScaledCayley(nn.Module):
    """The scaled Cayley map ``X -> (I + A)^{-1} (I - A) D`` with ``A = triu(X, 1) - triu(X, 1)^T``.

    Parameters
    ----------
    size : int
        R, the matrix size.
    negative : int, optional
        Number of -1 entries of ``D`` (default ``R // 2``), placed first.

    Examples
    --------
    >>> w = ScaledCayley(4)(torch.randn(4, 4))
    >>> bool(torch.allclose(w @ w.T, torch.eye(4), atol=1e-5))
    True
    """

    def __init__(self, size: int, negative: int | None = None) -> None:
        super().__init__()
        negative = size // 2 if negative is None else negative
        diag = torch.ones(size)
        diag[:negative] = -1.0
        self.register_buffer("scaling", diag)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        upper = x.triu(1)
        skew = upper - upper.T
        eye = torch.eye(x.shape[-1], dtype=x.dtype, device=x.device)
        return torch.linalg.solve(eye + skew, eye - skew) * self.scaling

    def right_inverse(self, w: torch.Tensor) -> torch.Tensor:
        """A skew matrix (stored in the upper triangle) mapped to ``w``: ``A = (I - U)(I + U)^{-1}``.

        ``U = w D``; it needs ``U`` without eigenvalue -1, which holds for the
        initialisations used here (the Cayley image of a skew matrix, times ``D``).
        """
        eye = torch.eye(w.shape[-1], dtype=w.dtype, device=w.device)
        u = w * self.scaling
        skew = torch.linalg.solve((eye + u).T, (eye - u).T).T
        return skew.triu(1)


def skew_init(size: int, kind: str, generator: torch.Generator | None = None) -> torch.Tensor:
    """A block-diagonal skew-symmetric matrix of 2×2 rotations blocks, as in expRNN / scoRNN.

    ``"henaff"``: rotation angles uniform in [-π, π] (``A`` entries are the angles, used
    through ``exp(A)``); ``"cayley"``: angles θ uniform in [0, π/2] stored as
    ``-sqrt((1 - cos θ) / (1 + cos θ))`` (the Cayley-map parameters of those rotations).

    Examples
    --------
    >>> a = skew_init(4, "henaff", torch.Generator().manual_seed(0))
    >>> bool(torch.equal(a, -a.T)), a[0, 1] != 0, a[1, 2] == 0
    (True, tensor(True), tensor(True))
    """
    if kind not in ("henaff", "cayley"):
        raise ValueError(f"skew init must be 'henaff' or 'cayley', got {kind!r}")
    blocks = size // 2
    if kind == "henaff":
        angles = torch.empty(blocks).uniform_(-math.pi, math.pi, generator=generator)
    else:
        theta = torch.empty(blocks).uniform_(0.0, math.pi / 2, generator=generator)
        angles = -torch.sqrt((1.0 - torch.cos(theta)) / (1.0 + torch.cos(theta)))
    upper = torch.zeros(max(size - 1, 0))
    upper[::2] = angles
    a = torch.diag(upper, diagonal=1)
    return a - a.T


def _initial_orthogonal(size: int, init: str, generator) -> torch.Tensor:
    if init == "random":
        q, r = torch.linalg.qr(torch.randn(size, size, generator=generator))
        return q * torch.sign(torch.diagonal(r))
    skew = skew_init(size, init, generator)
    if init == "henaff":
        return torch.linalg.matrix_exp(skew)
    eye = torch.eye(size)
    return torch.linalg.solve(eye + skew, eye - skew)


def _cayley_skew(size: int, init: str, generator) -> torch.Tensor:
    """The skew matrix A whose scaled Cayley image starts the scoRNN weight."""
    if init == "random":
        upper = torch.randn(size, size, generator=generator).triu(1)
        return upper - upper.T
    skew = skew_init(size, init, generator)
    if init == "henaff":  # the Cayley parameter of a rotation by θ is -tan(θ/2)
        skew = -torch.tan(skew / 2)
    return skew


def orthogonalize(linear: nn.Linear, orthogonal_map: str, init: str = "henaff",
                  generator: torch.Generator | None = None) -> nn.Linear:
    """Constrain ``linear.weight`` (square) to be orthogonal through ``orthogonal_map``.

    Parameters
    ----------
    linear : nn.Linear
        A square layer; modified in place and returned.
    orthogonal_map : {"cayley", "matrix_exp", "householder", "scaled_cayley"}
    init : {"henaff", "cayley", "random"}
        The initial orthogonal matrix: ``exp`` of a Henaff skew matrix, the Cayley image of
        a Cayley-init skew matrix, or Haar-random (QR of a Gaussian matrix). For
        ``"scaled_cayley"`` (which cannot reach every orthogonal matrix) the same rotations
        times ``D``, and for ``"random"`` the image of a standard Gaussian skew matrix.
    generator : torch.Generator, optional
        Randomness of the initialisation.

    Raises
    ------
    ValueError
        Unknown map or init, or a non-square weight.

    Examples
    --------
    >>> layer = orthogonalize(nn.Linear(6, 6, bias=False), "householder")
    >>> orthogonality_error(layer.weight) < 1e-5
    True
    """
    if orthogonal_map not in ORTHOGONAL_MAPS:
        raise ValueError(f"unknown orthogonal map {orthogonal_map!r}; valid: {', '.join(ORTHOGONAL_MAPS)}")
    if init not in ORTHOGONAL_INITS:
        raise ValueError(f"unknown orthogonal init {init!r}; valid: {', '.join(ORTHOGONAL_INITS)}")
    rows, cols = linear.weight.shape
    if rows != cols:
        raise ValueError(f"an orthogonal hidden matrix must be square, got {rows}x{cols}")
    if orthogonal_map == "scaled_cayley":
        cayley = ScaledCayley(rows).to(linear.weight.device)
        with torch.no_grad():
            linear.weight.copy_(torch.diag(cayley.scaling))  # right_inverse(D) = 0, well conditioned
        parametrize.register_parametrization(linear, "weight", cayley)
        with torch.no_grad():
            linear.parametrizations.weight.original.copy_(_cayley_skew(rows, init, generator).triu(1))
    else:
        start = _initial_orthogonal(rows, init, generator).to(linear.weight)
        torch_orthogonal(linear, "weight", orthogonal_map=orthogonal_map)
        with torch.no_grad():
            linear.weight = start  # right_inverse: the base becomes ``start``, the parameter φ^{-1}(I)
    return linear


def orthogonal_parameters(module: nn.Module) -> list[nn.Parameter]:
    """The trainable tensors behind every orthogonal parametrization inside ``module``.

    Examples
    --------
    >>> net = nn.Sequential(orthogonalize(nn.Linear(3, 3), "cayley"), nn.Linear(3, 2))
    >>> [tuple(p.shape) for p in orthogonal_parameters(net)]
    [(3, 3)]
    """
    found = []
    for sub in module.modules():
        if parametrize.is_parametrized(sub, "weight"):
            found.append(sub.parametrizations.weight.original)
    return found


def orthogonality_error(matrix: torch.Tensor) -> float:
    """``max |W W^T - I|`` (0 for an exactly orthogonal matrix), computed in float64."""
    w = matrix.detach().double()
    return float((w @ w.T - torch.eye(w.shape[0], dtype=w.dtype, device=w.device)).abs().max())
