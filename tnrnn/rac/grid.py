"""Grid tensors of a RAC over its M templates, with a memory guard.

``A[d_1, ..., d_T] = y(x^(d_1), ..., x^(d_T))``: the network evaluated on every
sequence of templates. With one-hot features (the default) this is the RAC's
coefficient tensor; an invertible template matrix gives the same ranks.

This is the dense route of the contraction engine (:func:`tnrnn.tn.contract.dense_grid`):
the tree of prefixes shares every prefix state, and its last levels are grown in
chunks written straight into the output, so the peak memory is about 1.5 times the
output. numpy (float64 or exact mod p) or torch (float64, any device).
"""

from __future__ import annotations

import numpy as np

from tnrnn import guards
from tnrnn._validation import positive_int
from tnrnn.exact.modular import matmul_mod
from tnrnn.rac.circuits import RACWeights

__all__ = ["GridTooLargeError", "grid_tensor", "grid_memory_bytes", "check_grid_size"]

#: Another name of :class:`tnrnn.guards.SizeLimitError`, kept for code written against 0.1.
GridTooLargeError = guards.SizeLimitError


def __getattr__(name: str):
    from tnrnn._moved import moved_name

    return moved_name(__name__, name)  # DEFAULT_MAX_BYTES: one constant, in tnrnn.guards


def _schedule(templates: int, hidden: int, depth: int, length: int) -> tuple[int, int]:
    """(tail, block): the last ``tail`` levels are grown ``block`` top prefixes at a time.

    ``M^tail >= 4 R (L + 3)`` makes the states of all prefixes at level ``T - tail`` at
    most a quarter of the output; ``block`` keeps each chunk's states to about another
    quarter.
    """
    per_prefix = hidden * (depth + 3)
    tail = 0
    while tail < length and templates**tail < 4 * per_prefix:
        tail += 1
    budget = max(templates**length // 4, per_prefix * templates**tail)
    block = max(1, budget // (per_prefix * templates**tail))
    return tail, block


def grid_memory_bytes(templates: int, hidden: int, depth: int, length: int) -> int:
    """Predicted peak working memory of :func:`grid_tensor` in bytes.

    The output (``M^T`` words), the states of every prefix at level ``T - tail`` and the
    states of one chunk of the last ``tail`` levels, R words per layer and prefix plus
    three temporaries of the same size: about 1.5 times the output for large T.

    Examples
    --------
    >>> grid_memory_bytes(2, 3, 2, 22) / (8 * 2**22) < 1.6
    True
    """
    tail, block = _schedule(templates, hidden, depth, length)
    per_prefix = hidden * (depth + 3)
    top = templates ** (length - tail) * per_prefix if length > tail else 0
    chunk = min(block, templates ** (length - tail)) * templates**tail * per_prefix
    return 8 * (templates**length + top + chunk)


def check_grid_size(templates: int, hidden: int, depth: int, length: int,
                    max_bytes: int | None = None) -> None:
    """Raise :class:`~tnrnn.guards.SizeLimitError` before allocating a grid tensor that would not fit.

    Raises
    ------
    SizeLimitError
        With the predicted size and what to use instead.
    """
    limit = guards.memory_limit(max_bytes)
    need = grid_memory_bytes(templates, hidden, depth, length)
    if need > limit:
        from tnrnn.guards import format_gib, format_size

        raise guards.SizeLimitError(
            f"a dense grid tensor for M={templates}, R={hidden}, L={depth}, T={length} has "
            f"M^T = {format_size(templates**length)} entries and needs about {format_gib(need)} of "
            f"working memory, over the limit of {format_gib(limit)} ({guards.RAISE_MEMORY}); use "
            f"method='scalable' (`tnrnn rank --method scalable`), a shorter length, or raise the limit"
        )


def grid_tensor(weights: RACWeights, length: int, *, template_matrix: np.ndarray | None = None,
                max_bytes: int | None = None, backend: str = "numpy", device=None):
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
        Memory guard; default :func:`tnrnn.guards.memory_limit`.
    backend : {"numpy", "torch"}
        ``"torch"`` (real weights only) returns a float64 ``torch.Tensor`` on ``device``.
    device : str or torch.device, optional
        Torch device, default CPU.

    Returns
    -------
    ndarray or torch.Tensor, shape (n_templates,) * T
        float64, or int64 residues in [0, p).

    Raises
    ------
    SizeLimitError
        If the computation would exceed ``max_bytes`` (checked before allocating).

    Notes
    -----
    Evaluates all sequences at once by growing the tree of prefixes: level t holds the
    states of all ``M^t`` prefixes, each computed once from its parent. The last ``tail``
    levels (``M^tail >= 4 R (L+3)``) are grown in chunks of prefixes and written straight
    into the output, so the peak memory is about 1.5 times the output
    (:func:`grid_memory_bytes`). Cost O(M^T L R^2) operations, against O(M^T T L R^2)
    for evaluating every sequence separately.

    Examples
    --------
    >>> from tnrnn.rac.circuits import RACSpec, evaluate
    >>> w = RACWeights.gaussian(RACSpec(2, 2, 2), seed=0)
    >>> a = grid_tensor(w, 3)
    >>> a.shape, bool(np.isclose(a[1, 0, 1], evaluate(w, [[1, 0, 1]])[0]))
    ((2, 2, 2), True)
    """
    length = positive_int(length, "length")
    if backend not in ("numpy", "torch"):
        raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")
    if backend == "torch" and weights.modulus is not None:
        raise ValueError("backend='torch' computes real weights in float64; "
                         "use backend='numpy' for modular (exact) weights")
    if template_matrix is not None:
        weights = weights.with_templates(template_matrix)
    spec = weights.spec
    length = int(length)
    check_grid_size(spec.templates, spec.hidden, spec.depth, length, max_bytes)
    ops = _Ops(weights, backend, device)
    m = spec.templates
    tail, block = _schedule(m, spec.hidden, spec.depth, length)
    split = length - tail
    top = ops.extend(None, split)
    width = m**tail
    out = ops.empty(m**length)
    for start in range(0, m**split, block):
        stop = min(start + block, m**split)
        final = ops.extend(None if top is None else [s[start:stop] for s in top], tail)
        out[start * width: stop * width] = ops.readout(final[-1])
    return out.reshape((m,) * length)


class _Ops:
    """The few array operations of the prefix tree, for numpy (float or mod p) and torch."""

    def __init__(self, weights: RACWeights, backend: str, device) -> None:
        self.p = weights.modulus
        self.torch = backend == "torch"
        if self.torch:
            import torch

            self.dev = torch.device(device or "cpu")

            def convert(a):
                return torch.as_tensor(np.array(a, dtype=np.float64), device=self.dev)
        else:
            def convert(a):
                return np.ascontiguousarray(a)
        self.first = convert(weights.input[0].T)  # (M, R): W^{I,1} e_d for every template d
        self.input_t = [convert(w.T) for w in weights.input]
        self.hidden_t = [convert(w.T) for w in weights.hidden]
        self.output = convert(weights.output[:, None])

    def matmul(self, a, b):
        return matmul_mod(a, b, self.p) if self.p is not None else a @ b

    def empty(self, size: int):
        if self.torch:
            import torch

            return torch.empty(size, dtype=torch.float64, device=self.dev)
        return np.empty(size, dtype=np.float64 if self.p is None else np.int64)

    def readout(self, top):
        return self.matmul(top, self.output)[:, 0]

    def extend(self, states, levels: int):
        """States of every layer after ``levels`` more steps (``states=None``: from t = 0).

        Returns ``None`` for ``states=None, levels=0``; prefix ``q`` of the input becomes
        prefixes ``q*M .. q*M + M-1``.
        """
        m, r = self.first.shape
        for _ in range(levels):
            new_states = []
            below = None
            for layer, w_hid_t in enumerate(self.hidden_t):
                if layer == 0:
                    fresh = self.first[None]
                else:
                    fresh = self.matmul(below, self.input_t[layer]).reshape(-1, m, r)
                if states is None:
                    new = fresh.reshape(-1, r)
                    new = new.clone() if self.torch else np.array(new, copy=True)
                else:
                    carried = self.matmul(states[layer], w_hid_t)
                    new = carried[:, None, :] * fresh
                    if self.p is not None:
                        new %= self.p
                    new = new.reshape(-1, r)
                new_states.append(new)
                below = new
            states = new_states
        return states
