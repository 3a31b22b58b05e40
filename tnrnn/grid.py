"""Grid tensors of a RAC over its M templates, with a memory guard.

``A[d_1, ..., d_T] = y(x^(d_1), ..., x^(d_T))``: the network evaluated on every
sequence of templates. With one-hot features (the default) this is the RAC's
coefficient tensor; an invertible template matrix gives the same ranks.
"""

from __future__ import annotations

import os

import numpy as np

from tnrnn.circuits import RACWeights
from tnrnn.modular import matmul_mod

__all__ = ["DEFAULT_MAX_BYTES", "GridTooLargeError", "grid_tensor", "grid_memory_bytes", "check_grid_size"]

#: Default working-memory limit for dense grid tensors (override with TNRNN_MAX_BYTES).
DEFAULT_MAX_BYTES = int(os.environ.get("TNRNN_MAX_BYTES", 4 * 2**30))


class GridTooLargeError(ValueError):
    """A dense grid tensor would exceed the memory limit."""


def grid_memory_bytes(templates: int, hidden: int, depth: int, length: int) -> int:
    """Predicted peak working memory of :func:`grid_tensor` in bytes.

    The prefix tree holds ``M^T`` states of width R for every layer, plus two
    temporaries of the same size, in 8-byte words.
    """
    return templates**length * hidden * (depth + 2) * 8


def check_grid_size(templates: int, hidden: int, depth: int, length: int,
                    max_bytes: int | None = None) -> None:
    """Raise :class:`GridTooLargeError` before allocating a grid tensor that would not fit.

    Raises
    ------
    GridTooLargeError
        With the predicted size and what to use instead.
    """
    limit = DEFAULT_MAX_BYTES if max_bytes is None else max_bytes
    need = grid_memory_bytes(templates, hidden, depth, length)
    if need > limit:
        raise GridTooLargeError(
            f"a dense grid tensor for M={templates}, R={hidden}, L={depth}, T={length} has "
            f"M^T = {templates**length:,} entries and needs about {need / 2**30:.3g} GiB of "
            f"working memory, over the limit of {limit / 2**30:.3g} GiB (max_bytes / "
            f"TNRNN_MAX_BYTES). Use method='scalable', a shorter length, or raise the limit."
        )


def grid_tensor(weights: RACWeights, length: int, *, template_matrix: np.ndarray | None = None,
                max_bytes: int | None = None) -> np.ndarray:
    """The order-T grid tensor of a RAC, float64 or exact mod p.

    Parameters
    ----------
    weights : RACWeights
        Real or modular weights.
    length : int
        T, the sequence length.
    template_matrix : ndarray, optional
        ``F[i] = f(x^(i))``, shape (n_templates, M). Default: one-hot templates (F = I).
    max_bytes : int, optional
        Memory guard; default :data:`DEFAULT_MAX_BYTES`.

    Returns
    -------
    ndarray, shape (n_templates,) * T
        float64, or int64 residues in [0, p).

    Raises
    ------
    GridTooLargeError
        If the computation would exceed ``max_bytes`` (checked before allocating).

    Notes
    -----
    Evaluates all sequences at once by growing the tree of prefixes: step t holds the
    states of all ``M^t`` prefixes. Cost O(M^T L R^2) operations, sharing every prefix.

    Examples
    --------
    >>> from tnrnn.circuits import RACSpec, evaluate
    >>> w = RACWeights.gaussian(RACSpec(2, 2, 2), seed=0)
    >>> a = grid_tensor(w, 3)
    >>> a.shape, bool(np.isclose(a[1, 0, 1], evaluate(w, [[1, 0, 1]])[0]))
    ((2, 2, 2), True)
    """
    if isinstance(length, bool) or not isinstance(length, (int, np.integer)) or length < 1:
        raise ValueError(f"length must be a positive integer, got {length!r}")
    if template_matrix is not None:
        weights = weights.with_templates(template_matrix)
    spec = weights.spec
    check_grid_size(spec.templates, spec.hidden, spec.depth, length, max_bytes)
    p = weights.modulus

    def matmul(a, b):
        return a @ b if p is None else matmul_mod(a, b, p)

    def multiply(a, b):
        out = a * b
        if p is not None:
            out %= p
        return out

    m, r = spec.templates, spec.hidden
    states: list[np.ndarray] = []  # states[l]: (prefixes, R) for the current length
    first_columns = weights.input[0].T  # (M, R)
    for t in range(length):
        below = None
        for layer in range(spec.depth):
            if layer == 0:
                fresh = np.broadcast_to(first_columns, (m**t, m, r))
            else:
                fresh = matmul(below, weights.input[layer].T).reshape(-1, m, r)
            if t == 0:
                new = np.array(fresh, copy=True).reshape(-1, r)
            else:
                carried = matmul(states[layer], weights.hidden[layer].T)
                new = multiply(carried[:, None, :], fresh).reshape(-1, r)
            if t == 0:
                states.append(new)
            else:
                states[layer] = new
            below = new
    values = matmul(states[-1], weights.output[:, None])[:, 0]
    return values.reshape((m,) * length)
