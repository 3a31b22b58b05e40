"""Recurrent Arithmetic Circuits (RACs): architecture, weights and evaluation.

A RAC of depth L with M input features and hidden width R maps a sequence of
feature vectors ``h^0_t = f(x_t)`` (t = 1..T) to one output coordinate::

    h^l_t = (W^{H,l} h^l_{t-1}) * (W^{I,l} h^{l-1}_t)        l = 1..L  (* element-wise)
    y     = W^O . h^L_T

**Initial-state convention.** ``W^{H,l} h^l_0 = 1`` (the all-ones vector) for every
layer, so that ``h^l_1 = W^{I,l} h^{l-1}_1``. Any initial state whose image under
``W^{H,l}`` has no zero entry only rescales rows of ``W^{I,l}``, so generic ranks do
not depend on this choice.

Weights are either real (``float64``) or integers modulo a prime ``p`` (exact
arithmetic, see :mod:`tnrnn.exact.modular`). Evaluation is vectorised over a batch of
sequences, with numpy (float64 or mod p) or torch (float64, any device).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

import numpy as np

from tnrnn._validation import positive_int
from tnrnn.exact.modular import check_prime, matmul_mod

if TYPE_CHECKING:
    import torch

__all__ = ["RACSpec", "RACWeights", "evaluate", "evaluate_features"]


@dataclass(frozen=True)
class RACSpec:
    """Architecture of a Recurrent Arithmetic Circuit.

    Parameters
    ----------
    templates : int
        M, the number of input features (templates); the input of layer 1.
    hidden : int
        R, the hidden width of every layer.
    depth : int
        L, the number of stacked recurrent layers.

    Raises
    ------
    ValueError
        If any argument is not a positive integer.

    Examples
    --------
    >>> RACSpec(templates=3, hidden=3, depth=2)
    RACSpec(templates=3, hidden=3, depth=2)
    """

    templates: int
    hidden: int
    depth: int

    def __post_init__(self) -> None:
        for name in ("templates", "hidden", "depth"):
            object.__setattr__(self, name, positive_int(getattr(self, name), name))

    def input_shape(self, layer: int) -> tuple[int, int]:
        """Shape of ``W^{I,layer}`` (layers count from 1): (R, M) for layer 1, else (R, R)."""
        return (self.hidden, self.templates if layer == 1 else self.hidden)

    @property
    def num_parameters(self) -> int:
        """Number of scalar weights (input, hidden and output matrices)."""
        m, r, depth = self.templates, self.hidden, self.depth
        return r * m + (depth - 1) * r * r + depth * r * r + r


def _check_weights_size(spec: RACSpec) -> None:
    """Refuse weights beyond the memory limit before drawing them (see :mod:`tnrnn.guards`)."""
    from tnrnn import guards

    guards.check_rac(spec.templates, spec.hidden, spec.depth)


@dataclass(frozen=True, eq=False)
class RACWeights:
    """Weights of a RAC: per-layer input and hidden matrices and an output vector.

    Parameters
    ----------
    spec : RACSpec
        The architecture.
    input : tuple of ndarray
        ``input[l-1]`` is ``W^{I,l}``, shape (R, M) for l = 1 and (R, R) above.
    hidden : tuple of ndarray
        ``hidden[l-1]`` is ``W^{H,l}``, shape (R, R).
    output : ndarray
        ``W^O``, shape (R,): the analysed output coordinate.
    modulus : int or None
        ``None`` for real float64 weights; a prime p for integer weights in [0, p).

    Examples
    --------
    >>> w = RACWeights.gaussian(RACSpec(2, 3, 2), seed=0)
    >>> [m.shape for m in w.input], w.output.shape, w.modulus
    ([(3, 2), (3, 3)], (3,), None)
    """

    spec: RACSpec
    input: tuple[np.ndarray, ...]
    hidden: tuple[np.ndarray, ...]
    output: np.ndarray
    modulus: int | None = None
    _checked: bool = field(default=False, repr=False)

    def __post_init__(self) -> None:
        spec = self.spec
        if not isinstance(spec, RACSpec):
            raise ValueError(f"spec must be a RACSpec, got {type(spec).__name__}")
        dtype = np.float64 if self.modulus is None else np.int64
        if self.modulus is not None:
            object.__setattr__(self, "modulus", check_prime(self.modulus, name="modulus"))
        if len(self.input) != spec.depth or len(self.hidden) != spec.depth:
            raise ValueError(
                f"expected {spec.depth} input and hidden matrices for depth={spec.depth}, "
                f"got {len(self.input)} and {len(self.hidden)}"
            )
        inputs, hiddens = [], []
        for layer in range(1, spec.depth + 1):
            w_in = np.array(self.input[layer - 1], dtype=dtype)
            w_hid = np.array(self.hidden[layer - 1], dtype=dtype)
            if w_in.shape != spec.input_shape(layer):
                raise ValueError(
                    f"input[{layer - 1}] (W^I of layer {layer}) must have shape "
                    f"{spec.input_shape(layer)}, got {w_in.shape}"
                )
            if w_hid.shape != (spec.hidden, spec.hidden):
                raise ValueError(
                    f"hidden[{layer - 1}] (W^H of layer {layer}) must have shape "
                    f"{(spec.hidden, spec.hidden)}, got {w_hid.shape}"
                )
            inputs.append(self._reduce(w_in))
            hiddens.append(self._reduce(w_hid))
        output = np.array(self.output, dtype=dtype).reshape(-1)
        if output.shape != (spec.hidden,):
            raise ValueError(f"output must have shape ({spec.hidden},), got {output.shape}")
        for arr in (*inputs, *hiddens, output):
            arr.setflags(write=False)
        object.__setattr__(self, "input", tuple(inputs))
        object.__setattr__(self, "hidden", tuple(hiddens))
        object.__setattr__(self, "output", self._reduce(output))

    def _reduce(self, arr: np.ndarray) -> np.ndarray:
        if self.modulus is None:
            if not np.all(np.isfinite(arr)):
                raise ValueError("weights must be finite")
            return arr
        return np.mod(arr, self.modulus)

    @property
    def exact(self) -> bool:
        """Whether the weights are integers modulo a prime (exact arithmetic)."""
        return self.modulus is not None

    # --- constructors -------------------------------------------------------------
    @classmethod
    def gaussian(cls, spec: RACSpec, seed: int | None = None, *, scale: float = 1.0) -> RACWeights:
        """Real weights with i.i.d. N(0, scale^2 / fan_in) entries.

        Examples
        --------
        >>> RACWeights.gaussian(RACSpec(2, 2, 1), seed=1).hidden[0].shape
        (2, 2)
        """
        _check_weights_size(spec)
        rng = np.random.default_rng(seed)

        def draw(shape):
            return rng.normal(0.0, scale / np.sqrt(shape[-1]), size=shape)

        return cls(
            spec,
            tuple(draw(spec.input_shape(layer)) for layer in range(1, spec.depth + 1)),
            tuple(draw((spec.hidden, spec.hidden)) for _ in range(spec.depth)),
            draw((spec.hidden,)),
        )

    @classmethod
    def orthogonal(cls, spec: RACSpec, seed: int | None = None) -> RACWeights:
        """Gaussian input/output weights and Haar-random orthogonal hidden matrices.

        Examples
        --------
        >>> w = RACWeights.orthogonal(RACSpec(2, 4, 2), seed=0)
        >>> bool(np.allclose(w.hidden[1] @ w.hidden[1].T, np.eye(4)))
        True
        """
        rng = np.random.default_rng(seed)
        base = cls.gaussian(spec, seed=rng.integers(2**32))
        hidden = []
        for _ in range(spec.depth):
            q, r = np.linalg.qr(rng.normal(size=(spec.hidden, spec.hidden)))
            hidden.append(q * np.sign(np.diag(r)))
        return cls(spec, base.input, tuple(hidden), base.output)

    @classmethod
    def random_mod_p(cls, spec: RACSpec, prime: int, seed: int | None = None) -> RACWeights:
        """Integer weights drawn uniformly from F_p (for exact, generic ranks).

        Examples
        --------
        >>> w = RACWeights.random_mod_p(RACSpec(2, 2, 2), prime=101, seed=0)
        >>> w.modulus, bool((w.input[0] < 101).all())
        (101, True)
        """
        prime = check_prime(prime)
        _check_weights_size(spec)
        rng = np.random.default_rng(seed)

        def draw(shape):
            return rng.integers(0, prime, size=shape, dtype=np.int64)

        return cls(
            spec,
            tuple(draw(spec.input_shape(layer)) for layer in range(1, spec.depth + 1)),
            tuple(draw((spec.hidden, spec.hidden)) for _ in range(spec.depth)),
            draw((spec.hidden,)),
            modulus=prime,
        )

    def with_templates(self, template_matrix: np.ndarray) -> RACWeights:
        """Absorb a template matrix ``F`` (``F[i] = f(x^(i))``) into ``W^{I,1}``.

        The returned RAC, fed template index ``i`` as a one-hot vector, computes what
        this RAC computes on the feature vector ``F[i]``.

        Raises
        ------
        ValueError
            If ``template_matrix`` is not of shape (n_templates, M).
        """
        template_matrix = np.asarray(template_matrix)
        if template_matrix.ndim != 2 or template_matrix.shape[1] != self.spec.templates:
            raise ValueError(
                f"template_matrix must have shape (n_templates, {self.spec.templates}), "
                f"got {template_matrix.shape}"
            )
        first = self.input[0]
        if self.modulus is None:
            new_first = first @ template_matrix.T.astype(np.float64)
        else:
            new_first = matmul_mod(first, np.mod(template_matrix.T, self.modulus).astype(np.int64), self.modulus)
        spec = RACSpec(template_matrix.shape[0], self.spec.hidden, self.spec.depth)
        return RACWeights(spec, (new_first, *self.input[1:]), self.hidden, self.output, self.modulus)


# --- evaluation ---------------------------------------------------------------------


def _step_numpy(weights: RACWeights, states: list[np.ndarray], layer_one_input: np.ndarray) -> None:
    """Advance every layer's state by one time step, in place in ``states``.

    ``layer_one_input`` is ``W^{I,1} h^0_t`` for the batch, shape (batch, R);
    ``states[l]`` is ``h^{l+1}_{t-1}`` or ``None`` at t = 1 (initial-state convention).
    """
    p = weights.modulus
    below = layer_one_input
    for layer in range(weights.spec.depth):
        if layer > 0:
            w_in_t = weights.input[layer].T
            below = below @ w_in_t if p is None else matmul_mod(below, w_in_t, p)
        if states[layer] is None:
            new = below.copy()
        else:
            w_hid_t = weights.hidden[layer].T
            carried = states[layer] @ w_hid_t if p is None else matmul_mod(states[layer], w_hid_t, p)
            new = carried * below
            if p is not None:
                new %= p
        states[layer] = new
        below = new


def _readout(weights: RACWeights, top: np.ndarray) -> np.ndarray:
    if weights.modulus is None:
        return top @ weights.output
    return matmul_mod(top, weights.output[:, None], weights.modulus)[:, 0]


def evaluate(weights: RACWeights, sequences: np.ndarray, *, backend: Literal["numpy", "torch"] = "numpy",
             device: str | None = None) -> np.ndarray | torch.Tensor:
    """Evaluate the RAC on a batch of template-index sequences (one-hot features).

    Parameters
    ----------
    weights : RACWeights
        Real or modular weights.
    sequences : array_like of int, shape (batch, T)
        Template indices in ``[0, M)``.
    backend : {"numpy", "torch"}
        ``"torch"`` computes in float64 on ``device`` (real weights only).
    device : str, optional
        Torch device, e.g. ``"cuda"``; default CPU.

    Returns
    -------
    ndarray or torch.Tensor, shape (batch,)
        ``y`` per sequence: float64, or int64 residues in [0, p) for modular weights.

    Raises
    ------
    ValueError
        If ``sequences`` is not 2-D with entries in ``[0, M)``.

    Notes
    -----
    Cost O(batch * T * L * R^2).

    Examples
    --------
    >>> w = RACWeights.random_mod_p(RACSpec(2, 2, 2), prime=7, seed=0)
    >>> evaluate(w, [[0, 1, 1], [1, 0, 0]]).tolist() == [
    ...     int(v) for v in evaluate(w, [[0, 1, 1], [1, 0, 0]])]
    True
    """
    sequences = np.asarray(sequences)
    if sequences.ndim != 2 or sequences.shape[1] < 1:
        raise ValueError(f"sequences must have shape (batch, T) with T >= 1, got {sequences.shape}")
    if not np.issubdtype(sequences.dtype, np.integer):
        raise ValueError(f"sequences must hold integer template indices, got dtype {sequences.dtype}")
    m = weights.spec.templates
    if sequences.size and (sequences.min() < 0 or sequences.max() >= m):
        raise ValueError(f"sequences must hold template indices in [0, {m}), got values "
                         f"in [{sequences.min()}, {sequences.max()}]")
    if backend == "torch":
        return _evaluate_torch(weights, sequences, None, device)
    _check_backend(backend)
    columns = weights.input[0].T  # (M, R): W^{I,1} e_d for every template d
    states: list[np.ndarray | None] = [None] * weights.spec.depth
    for t in range(sequences.shape[1]):
        _step_numpy(weights, states, columns[sequences[:, t]])
    return _readout(weights, states[-1])


def evaluate_features(weights: RACWeights, features: np.ndarray, *,
                      backend: Literal["numpy", "torch"] = "numpy",
                      device: str | None = None) -> np.ndarray | torch.Tensor:
    """Evaluate the RAC on a batch of feature-vector sequences ``h^0_t = f(x_t)``.

    Parameters
    ----------
    features : array_like, shape (batch, T, M)
        Real features, or integers (reduced mod p) for modular weights.

    Returns
    -------
    ndarray or torch.Tensor, shape (batch,)

    Examples
    --------
    >>> w = RACWeights.gaussian(RACSpec(2, 3, 2), seed=0)
    >>> onehot = np.eye(2)[[[0, 1, 1]]]
    >>> bool(np.isclose(evaluate_features(w, onehot)[0], evaluate(w, [[0, 1, 1]])[0]))
    True
    """
    features = np.asarray(features)
    m = weights.spec.templates
    if features.ndim != 3 or features.shape[2] != m or features.shape[1] < 1:
        raise ValueError(f"features must have shape (batch, T, {m}), got {features.shape}")
    if backend == "torch":
        return _evaluate_torch(weights, None, features, device)
    _check_backend(backend)
    p = weights.modulus
    if p is None:
        features = features.astype(np.float64)
    else:
        if not np.issubdtype(features.dtype, np.integer):
            raise ValueError("modular weights need integer features")
        features = np.mod(features, p).astype(np.int64)
    w_first_t = weights.input[0].T
    states: list[np.ndarray | None] = [None] * weights.spec.depth
    for t in range(features.shape[1]):
        x = features[:, t, :]
        projected = x @ w_first_t if p is None else matmul_mod(x, w_first_t, p)
        _step_numpy(weights, states, projected)
    return _readout(weights, states[-1])


def _check_backend(backend: str) -> None:
    if backend not in ("numpy", "torch"):
        raise ValueError(f"backend must be 'numpy' or 'torch', got {backend!r}")


def _evaluate_torch(weights: RACWeights, sequences, features, device):
    import torch

    if weights.modulus is not None:
        raise ValueError("backend='torch' evaluates real weights in float64; "
                         "use backend='numpy' for modular (exact) weights")
    dev = torch.device(device or "cpu")

    def tensor(a):
        return torch.as_tensor(np.array(a, dtype=np.float64), device=dev)

    w_in = [tensor(w) for w in weights.input]
    w_hid = [tensor(w) for w in weights.hidden]
    w_out = tensor(weights.output)
    if sequences is not None:
        index = torch.as_tensor(sequences, device=dev)
        first = w_in[0].T[index]  # (batch, T, R)
    else:
        first = tensor(features) @ w_in[0].T
    states: list = [None] * weights.spec.depth
    for t in range(first.shape[1]):
        below = first[:, t]
        for layer in range(weights.spec.depth):
            if layer > 0:
                below = below @ w_in[layer].T
            new = below if states[layer] is None else (states[layer] @ w_hid[layer].T) * below
            states[layer] = new
            below = new
    return states[-1] @ w_out
