"""Probe trained networks the way theory probes RACs: grid tensors over the task alphabet.

Any model that maps a batch of symbol sequences to one real number per sequence can be
probed. The **probed output** of a trained network is, by default, the raw output
(logit) of class ``output_index`` at the **last time step**: ``y(tokens) =
model(task.encode(tokens))[:, step, output_index]`` with ``step = -1``. For Start-End
Similarity that is the logit of one class of the only labelled step; for copying the
last step recalls the 10th data symbol (pass ``step`` to look at another recall step).
This is the same output coordinate that ``model.to_rac_weights(output_index)`` exports
for RAC models, so the two routes can be compared.

The grid tensor ``A[d_1..d_T] = y(s_{d_1}, ..., s_{d_T})`` runs over chosen template
symbols ``s`` (default: the whole alphabet). Two ways to get its matricization
``[A]_{S,E}`` for a partition (S, E):

* ``dense``: every one of the ``n^T`` sequences, in batched forward passes (no grad,
  float64 where the model allows it);
* ``sampled``: ``rows`` sampled assignments of the S positions times ``cols`` sampled
  assignments of the E positions. That is a submatrix of the dense matricization, so
  its rank is a **lower bound** of the dense rank (and equal to it when every
  assignment is taken).

The matrix is ranked in float64 (:func:`tnrnn.ranks.router.spectrum`): the whole spectrum, the
rank at a stated tolerance (numpy's default ``sigma_max * max(m, n) * eps`` unless
given), the effective rank and the entropy. These are **float ranks of particular
weights**, never generic ranks of an architecture (those are exact or certified, see
:mod:`tnrnn.ranks.router`).

A third way, :func:`task_probe`, reads the network on the task's own data instead of
template symbols: N first halves times N second halves drawn from the task, next to
the same matrix of the task's optimal predictor.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from tnrnn._validation import positive_int
from tnrnn.rac.grid import grid_tensor
from tnrnn.rac.partitions import Partition, parse_partition
from tnrnn.ranks.router import spectrum

__all__ = [
    "ProbeResult",
    "ProbeCallback",
    "model_function",
    "dense_matrix",
    "sampled_matrix",
    "probe",
    "probe_model",
    "rac_probe",
    "DEFAULT_MAX_SEQUENCES",
    "NonFiniteOutputError",
    "TaskProbeResult",
    "task_probe",
    "spectral_ranks",
]

#: ``auto`` probes densely while ``n_symbols ** T`` stays at or below this many sequences.
DEFAULT_MAX_SEQUENCES = 2**16

SequenceFunction = Callable[[np.ndarray], np.ndarray]


class NonFiniteOutputError(ValueError):
    """The probed outputs contain NaN or infinity (a diverged network): no spectrum exists."""


@dataclass
class ProbeResult:
    """The float rank diagnostics of one probed matricization.

    Attributes
    ----------
    spectrum : list of float
        All singular values, descending.
    rank : int
        Number of singular values above ``tolerance`` (a float rank, not exact).
    tolerance : float
        The absolute threshold used.
    effective_rank : float
        ``exp(entropy)``.
    entropy : float
        Entropy of the normalised squared spectrum.
    log_gap : float
        Largest drop ``log10(sigma_i / sigma_{i+1})``.
    log_gap_index : int
        Number of singular values above that drop.
    method : str
        ``dense``, ``sampled`` or ``rac-grid`` (the exact-weights route of RAC models).
    partition : str
        Name of the partition.
    length : int
        T, the probed sequence length.
    shape : tuple of int
        Shape of the ranked matrix.
    symbols : list of int
        The template symbols.
    lower_bound_only : bool
        True when the matrix is a strict submatrix of the dense matricization, so
        ``rank`` is only a lower bound of the dense rank.
    seconds : float
        Wall-clock time.
    extra : dict
        What the caller recorded (output index, step, ...).
    """

    spectrum: list[float]
    rank: int
    tolerance: float
    effective_rank: float
    entropy: float
    log_gap: float
    log_gap_index: int
    method: str
    partition: str
    length: int
    shape: tuple[int, int]
    symbols: list[int]
    lower_bound_only: bool
    seconds: float
    extra: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """A JSON-ready dictionary (``extra`` merged in)."""
        out = asdict(self)
        out["shape"] = list(self.shape)
        out.update(out.pop("extra"))
        return out

    def describe(self) -> str:
        """One human line.

        Examples
        --------
        >>> r = probe(lambda t: t.sum(axis=1).astype(float), 4, symbols=[0, 1])
        >>> r.describe()
        'float rank 2 at tolerance ... (dense 4x4, start-end, T=4; effective rank 1.06)'
        """
        bound = ", lower bound of the dense rank" if self.lower_bound_only else ""
        return (f"float rank {self.rank} at tolerance {self.tolerance:.3g} ({self.method} "
                f"{self.shape[0]}x{self.shape[1]}, {self.partition}, T={self.length}{bound}; "
                f"effective rank {self.effective_rank:.3g})")


def _check_symbols(symbols, alphabet_size: int | None) -> list[int]:
    if symbols is None:
        if alphabet_size is None:
            raise ValueError("give symbols (the template symbols) or an alphabet_size")
        symbols = alphabet_size
    if isinstance(symbols, (int, np.integer)) and not isinstance(symbols, bool):
        if symbols < 1:
            raise ValueError(f"symbols must be a positive count or a list of symbols, got {symbols}")
        if alphabet_size is not None and symbols > alphabet_size:
            raise ValueError(f"symbols={symbols} exceeds the alphabet size {alphabet_size}")
        return list(range(int(symbols)))
    out = [int(s) for s in symbols]
    if not out or len(set(out)) != len(out):
        raise ValueError(f"symbols must be a non-empty list of distinct symbols, got {symbols!r}")
    bad = [s for s in out if s < 0 or (alphabet_size is not None and s >= alphabet_size)]
    if bad:
        raise ValueError(f"symbols {bad} are outside the alphabet 0..{(alphabet_size or 1) - 1}")
    return out


def _evaluate(function: SequenceFunction, tokens: np.ndarray, batch_size: int) -> np.ndarray:
    out = np.empty(len(tokens), dtype=np.float64)
    for start in range(0, len(tokens), batch_size):
        values = np.asarray(function(tokens[start:start + batch_size]), dtype=np.float64).reshape(-1)
        if values.shape[0] != min(batch_size, len(tokens) - start):
            raise ValueError(f"the probed function must return one value per sequence, got shape "
                             f"{values.shape} for {min(batch_size, len(tokens) - start)} sequences")
        out[start:start + batch_size] = values
    return out


def dense_matrix(function: SequenceFunction, partition: Partition, symbols: Sequence[int], *,
                 batch_size: int = 4096, max_sequences: int | None = None) -> np.ndarray:
    """The matricization ``[A]_{S,E}`` of the full grid tensor over ``symbols``.

    Parameters
    ----------
    function : callable
        ``tokens (B, T) int64 -> values (B,)``.
    partition : Partition
    symbols : sequence of int
        The n template symbols.
    batch_size : int
        Sequences per call of ``function``.
    max_sequences : int, optional
        Refuse (ValueError) above this many sequences; default ``16 * DEFAULT_MAX_SEQUENCES``.

    Returns
    -------
    ndarray, shape (n^|S|, n^|E|)

    Notes
    -----
    ``n^T`` evaluations of ``function`` (each O(T) for a recurrent network).

    Examples
    --------
    >>> from tnrnn.rac.partitions import start_end
    >>> dense_matrix(lambda t: t[:, 0] * t[:, 1] + 0.0, start_end(2), [0, 1, 2]).tolist()
    [[0.0, 0.0, 0.0], [0.0, 1.0, 2.0], [0.0, 2.0, 4.0]]
    """
    symbols = np.asarray(symbols, dtype=np.int64)
    n, length = len(symbols), partition.length
    limit = 16 * DEFAULT_MAX_SEQUENCES if max_sequences is None else max_sequences
    if n**length > limit:
        raise ValueError(f"a dense probe over {n} symbols at length T={length} needs n^T = {n**length:,} "
                         f"sequences, over the limit of {limit:,}: use method='sampled', fewer symbols "
                         f"or a shorter length")
    digits = np.indices((n,) * length).reshape(length, -1).T  # row-major: last axis fastest
    values = _evaluate(function, symbols[digits], batch_size)
    return partition.matricize(values.reshape((n,) * length))


def _sample_assignments(n: int, positions: int, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` distinct assignments of ``positions`` symbols (indices into 0..n-1), or all."""
    total = n**positions
    if count >= total:
        return np.indices((n,) * positions).reshape(positions, -1).T
    if total < 2**62:
        if total <= 2**20:
            codes = rng.choice(total, size=count, replace=False)
        else:
            codes = np.unique(rng.integers(0, total, size=2 * count, dtype=np.int64))
            while codes.size < count:
                more = rng.integers(0, total, size=count, dtype=np.int64)
                codes = np.unique(np.concatenate([codes, more]))
            codes = rng.permutation(codes)[:count]
        digits = np.empty((count, positions), dtype=np.int64)
        rest = np.sort(codes).astype(np.int64)
        for i in range(positions - 1, -1, -1):
            rest, digits[:, i] = np.divmod(rest, n)
        return digits
    # n^positions beyond int64: distinct rows by rejection (collisions are astronomically rare)
    rows = np.unique(rng.integers(0, n, size=(count, positions)), axis=0)
    while len(rows) < count:
        rows = np.unique(np.concatenate([rows, rng.integers(0, n, size=(count, positions))]), axis=0)
    return rows[:count]


def sampled_matrix(function: SequenceFunction, partition: Partition, symbols: Sequence[int], *,
                   rows: int = 256, cols: int = 256, seed: int | None = 0,
                   batch_size: int = 4096) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A submatrix of ``[A]_{S,E}``: sampled S-assignments times sampled E-assignments.

    Row i, column j holds ``y`` of the sequence whose S positions carry assignment i and
    whose E positions carry assignment j. Assignments are distinct, so the result is a
    submatrix of the dense matricization and its rank is at most the dense rank.

    Returns
    -------
    matrix : ndarray, shape (rows', cols')
        ``rows' = min(rows, n^|S|)``, ``cols' = min(cols, n^|E|)``.
    starts : ndarray, shape (rows', |S|)
        The distinct symbol assignments of the S positions (row i), in partition order.
    ends : ndarray, shape (cols', |E|)
        The same for the E positions (column j). When all ``n^|S|`` and ``n^|E|``
        assignments are taken the matrix is the whole matricization.

    Notes
    -----
    ``rows' * cols'`` evaluations of ``function``.

    Examples
    --------
    >>> from tnrnn.rac.partitions import start_end
    >>> m, starts, ends = sampled_matrix(lambda t: t.sum(axis=1) + 0.0, start_end(4), [5, 7], rows=3, cols=2)
    >>> m.shape, starts.shape, bool(m[0, 0] == starts[0].sum() + ends[0].sum())
    ((3, 2), (3, 2), True)
    """
    for name, value in (("rows", rows), ("cols", cols)):
        positive_int(value, name)
    symbols = np.asarray(symbols, dtype=np.int64)
    n = len(symbols)
    rng = np.random.default_rng(seed)
    starts = _sample_assignments(n, len(partition.start), int(rows), rng)
    ends = _sample_assignments(n, len(partition.end), int(cols), rng)
    tokens = np.empty((len(starts), len(ends), partition.length), dtype=np.int64)
    tokens[:, :, list(partition.start)] = symbols[starts][:, None, :]
    tokens[:, :, list(partition.end)] = symbols[ends][None, :, :]
    values = _evaluate(function, tokens.reshape(-1, partition.length), batch_size)
    return values.reshape(len(starts), len(ends)), symbols[starts], symbols[ends]


def probe(function: SequenceFunction, length: int, partition: Partition | str = "start-end", *,
          symbols: int | Sequence[int] | None = None, alphabet_size: int | None = None,
          method: str = "auto", rows: int = 256, cols: int = 256, tolerance: float | None = None,
          seed: int | None = 0, batch_size: int = 4096,
          max_sequences: int = DEFAULT_MAX_SEQUENCES, extra: dict | None = None) -> ProbeResult:
    """Spectrum and float rank of the grid tensor of any sequence function.

    Parameters
    ----------
    function : callable
        ``tokens (B, T) int64 -> values (B,)``, e.g. from :func:`model_function`.
    length : int
        T.
    partition : Partition or str
        Default Start-End; see :func:`tnrnn.rac.partitions.parse_partition`.
    symbols : int or sequence of int, optional
        Template symbols: a count n (symbols ``0..n-1``) or a list. Default: the whole
        alphabet (``alphabet_size``).
    alphabet_size : int, optional
        Valid symbols are ``0..alphabet_size-1``.
    method : {"auto", "dense", "sampled"}
        ``auto``: dense while ``n^T <= max_sequences``, else sampled.
    rows, cols : int
        Sampled block size.
    tolerance : float, optional
        Absolute rank threshold; default numpy's ``sigma_max * max(m, n) * eps``.
    seed : int, optional
        Seed of the sampled assignments.
    batch_size : int
        Sequences per forward call.
    max_sequences : int
        Dense threshold of ``auto``.
    extra : dict, optional
        Copied into the result (e.g. the output coordinate probed).

    Returns
    -------
    ProbeResult

    Raises
    ------
    ValueError
        For a bad length, partition, symbol set or method, before any evaluation.

    Examples
    --------
    >>> f = lambda t: (t[:, 0] == t[:, -1]).astype(float)     # start-end equality: rank n
    >>> probe(f, 4, symbols=3).rank
    3
    >>> r = probe(f, 40, symbols=3, rows=20, cols=20)       # 3^40 sequences: sampled block
    >>> r.method, r.rank, r.lower_bound_only
    ('sampled', 3, True)
    """
    start_time = time.perf_counter()
    partition = parse_partition(partition, length)
    symbol_list = _check_symbols(symbols, alphabet_size)
    if method not in ("auto", "dense", "sampled"):
        raise ValueError(f"method must be 'auto', 'dense' or 'sampled', got {method!r}")
    n = len(symbol_list)
    if method == "auto":
        method = "dense" if n**partition.length <= max_sequences else "sampled"
    if method == "dense":
        matrix = dense_matrix(function, partition, symbol_list, batch_size=batch_size,
                              max_sequences=max(max_sequences, 16 * DEFAULT_MAX_SEQUENCES))
        complete = True
    else:
        matrix, starts, ends = sampled_matrix(function, partition, symbol_list, rows=rows, cols=cols,
                                              seed=seed, batch_size=batch_size)
        complete = len(starts) == n ** len(partition.start) and len(ends) == n ** len(partition.end)
    return _result(matrix, tolerance, method, partition, symbol_list, not complete,
                   time.perf_counter() - start_time, extra)


def _result(matrix, tolerance, method, partition, symbols, lower_only, seconds, extra) -> ProbeResult:
    if not np.all(np.isfinite(matrix)):
        raise NonFiniteOutputError("the probed outputs contain NaN or infinity: the model diverged")
    s = spectrum(matrix, tolerance)
    return ProbeResult([float(v) for v in s.values], s.rank, float(s.tolerance), float(s.effective_rank),
                       float(s.entropy), float(s.log_gap), int(s.log_gap_index), method, partition.name,
                       partition.length, tuple(int(d) for d in matrix.shape), list(symbols),
                       bool(lower_only), seconds, dict(extra or {}))


# --- torch models -------------------------------------------------------------------


def model_function(model, task, *, output_index: int = 0, step: int = -1, device=None,
                   float64: bool = True) -> SequenceFunction:
    """The probed output of a trained model as a function of symbol sequences.

    ``y(tokens) = model(task.encode(tokens))[:, step, output_index]``: the raw output
    (logit, or the regression value for adding) of coordinate ``output_index`` at time
    ``step`` (default the last step), computed without gradients on a float64 copy of
    the model (the training model is not touched).

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(B, T, input_size)`` to ``(B, T, output_size)``.
    task : object with ``encode(tokens) -> inputs``
        A :class:`tnrnn.nn.tasks.Task`, or anything with that method.
    output_index : int
        The output coordinate (class logit) probed.
    step : int
        The time step read (negative counts from the end).
    device : torch.device or str, optional
        Default: the device of the model's parameters.
    float64 : bool
        Evaluate a float64 copy of the model (default); else the model as it is.

    Returns
    -------
    callable
        ``tokens (B, T) -> ndarray (B,)`` float64.
    """
    import torch

    from tnrnn.nn.copies import float64_copy

    net = float64_copy(model) if float64 else model
    if device is None:
        parameter = next(iter(net.parameters()), None)
        device = parameter.device if parameter is not None else torch.device("cpu")
    dtype = torch.float64 if float64 else torch.float32

    def function(tokens: np.ndarray) -> np.ndarray:
        with torch.no_grad():
            inputs = task.encode(torch.as_tensor(np.asarray(tokens), dtype=torch.long))
            outputs = net(inputs.to(device=device, dtype=dtype))
            if outputs.ndim != 3:
                raise ValueError(f"the model must return (B, T, outputs), got shape {tuple(outputs.shape)}")
            if not -outputs.shape[2] <= output_index < outputs.shape[2]:
                raise ValueError(f"output_index={output_index} is outside 0..{outputs.shape[2] - 1}")
            return outputs[:, step, output_index].double().cpu().numpy()

    return function


def _task_alphabet(task) -> int:
    size = getattr(task, "alphabet_size", None)
    if size is None:
        raise ValueError(f"task {getattr(task, 'name', task)!r} has no symbol alphabet (alphabet_size "
                         f"is None): only symbol tasks (copying, ses) can be probed over templates")
    return int(size)


def probe_model(model, task, length: int, partition: Partition | str = "start-end", *,
                output_index: int = 0, step: int = -1, symbols: int | Sequence[int] | None = None,
                method: str = "auto", rows: int = 256, cols: int = 256, tolerance: float | None = None,
                seed: int | None = 0, batch_size: int = 4096,
                max_sequences: int = DEFAULT_MAX_SEQUENCES) -> ProbeResult:
    """Probe a trained model: :func:`probe` of :func:`model_function` over the task alphabet.

    Parameters are those of :func:`probe` and :func:`model_function`; ``symbols``
    defaults to the whole task alphabet (``task.alphabet_size``).

    Raises
    ------
    ValueError
        For tasks without a symbol alphabet, bad symbols, lengths or partitions.
    """
    alphabet = _task_alphabet(task)
    symbol_list = _check_symbols(symbols, alphabet)
    parse_partition(partition, length)  # fail before copying the model
    function = model_function(model, task, output_index=output_index, step=step)
    return probe(function, length, partition, symbols=symbol_list, alphabet_size=alphabet, method=method,
                 rows=rows, cols=cols, tolerance=tolerance, seed=seed, batch_size=batch_size,
                 max_sequences=max_sequences, extra={"output_index": output_index, "step": step})


def rac_probe(model, length: int, partition: Partition | str = "start-end", *, output_index: int = 0,
              symbols: Sequence[int] | None = None, tolerance: float | None = None,
              max_bytes: int | None = None) -> ProbeResult:
    """The exact-weights route for RAC models: the grid tensor of ``model.to_rac_weights()``.

    Exports the trained weights (:class:`tnrnn.rac.circuits.RACWeights`, from a float64 copy
    of the model, as :func:`model_function` evaluates it) and builds the grid tensor with :func:`tnrnn.rac.grid.grid_tensor` (one-hot templates, or
    the rows of the identity picked by ``symbols``), then ranks its matricization
    exactly like :func:`probe`. On the last step of one-hot inputs it agrees with the
    dense probe of the torch model up to float rounding.

    Raises
    ------
    ValueError
        If the model has no ``to_rac_weights`` (not a RAC), or for bad arguments.
    """
    from tnrnn.nn.copies import float64_copy

    start_time = time.perf_counter()
    if not hasattr(model, "to_rac_weights"):
        raise ValueError(f"model {type(model).__name__} is not a RAC (no to_rac_weights): "
                         f"use probe_model for other cells")
    partition = parse_partition(partition, length)
    # export from the same float64 copy the dense probe evaluates: an orthogonal map (Cayley,
    # matrix_exp) recomputed in float32 would differ by ~1e-7 relative from the float64 one
    weights = float64_copy(model).to_rac_weights(output_index=output_index)
    m = weights.spec.templates
    symbol_list = _check_symbols(m if symbols is None else symbols, m)
    template_matrix = None if symbol_list == list(range(m)) else np.eye(m)[symbol_list]
    tensor = grid_tensor(weights, length, template_matrix=template_matrix, max_bytes=max_bytes)
    matrix = partition.matricize(tensor)
    return _result(matrix, tolerance, "rac-grid", partition, symbol_list, False,
                   time.perf_counter() - start_time, {"output_index": output_index, "step": -1})


# --- training callback ----------------------------------------------------------------


class ProbeCallback:
    """Training callback that probes the model every ``every`` steps.

    Follows the :func:`tnrnn.nn.train` callback protocol: called as
    ``callback(step, model, task)`` at every evaluation, it returns a dict merged into
    that metrics line (keys ``probe_rank``, ``probe_effective_rank``, ``probe_entropy``,
    ``probe_tolerance``, ``probe_method``, ``probe_length``, ``probe_partition``,
    ``probe_top_singular``) when at least ``every`` steps passed since its last probe
    (and at the first evaluation), else ``None``. Every probe is also kept in
    ``history`` as ``(step, ProbeResult)``.

    Parameters
    ----------
    every : int
        Minimum number of steps between probes.
    length : int
        T of the probe.
    partition, output_index, step, symbols, method, rows, cols, tolerance, seed
        As in :func:`probe_model`.

    Examples
    --------
    >>> cb = ProbeCallback(every=100, length=4, symbols=2)
    >>> cb.every, cb.length
    (100, 4)
    """

    def __init__(self, every: int, length: int, partition: str = "start-end", *, output_index: int = 0,
                 step: int = -1, symbols: int | Sequence[int] | None = None, method: str = "auto",
                 rows: int = 128, cols: int = 128, tolerance: float | None = None, seed: int | None = 0):
        positive_int(every, "every")
        parse_partition(partition, length)
        self.every = every
        self.length = length
        self.partition = partition
        self.output_index = output_index
        self.step = step
        self.symbols = symbols
        self.method = method
        self.rows = rows
        self.cols = cols
        self.tolerance = tolerance
        self.seed = seed
        self.history: list[tuple[int, ProbeResult]] = []
        self._last: int | None = None

    def __call__(self, step: int, model, task) -> dict | None:
        if self._last is not None and step - self._last < self.every:
            return None
        self._last = step
        result = probe_model(model, task, self.length, self.partition, output_index=self.output_index,
                             step=self.step, symbols=self.symbols, method=self.method, rows=self.rows,
                             cols=self.cols, tolerance=self.tolerance, seed=self.seed)
        self.history.append((step, result))
        top = result.spectrum[0] if result.spectrum else 0.0
        return {"probe_rank": result.rank, "probe_effective_rank": result.effective_rank,
                "probe_entropy": result.entropy, "probe_tolerance": result.tolerance,
                "probe_method": result.method, "probe_length": result.length,
                "probe_partition": result.partition, "probe_top_singular": top,
                "probe_log_gap_index": result.log_gap_index if math.isfinite(top) else None}


# --- probing on the task's own data ---------------------------------------------------------

#: Relative tolerances (of σ_max) and energy fractions reported by :func:`task_probe`.
TASK_PROBE_TOLERANCES = (1e-1, 1e-2, 1e-3)
TASK_PROBE_ENERGIES = (0.9, 0.99)


def spectral_ranks(values, tolerances=TASK_PROBE_TOLERANCES, energies=TASK_PROBE_ENERGIES) -> dict:
    """Rank summaries of a spectrum: at relative tolerances, by energy, and the truncation error curve.

    Parameters
    ----------
    values : sequence of float
        Singular values, descending.
    tolerances : sequence of float
        Relative tolerances t: the rank is the number of σ_i > t · σ_max.
    energies : sequence of float
        Fractions e of the Frobenius energy: the smallest r with Σ_{i<=r} σ_i² >= e Σ σ_i².

    Returns
    -------
    dict
        ``tolerance_ranks`` and ``energy_ranks`` (keyed by ``str(t)`` / ``str(e)``), and
        ``approximation_error``: the relative Frobenius error of the best rank-r
        approximation (Eckart–Young), for r = 0, 1, ..., len(values).

    Examples
    --------
    >>> out = spectral_ranks([4.0, 2.0, 0.01])
    >>> out["tolerance_ranks"], out["energy_ranks"]
    ({'0.1': 2, '0.01': 2, '0.001': 3}, {'0.9': 2, '0.99': 2})
    >>> [round(e, 4) for e in out["approximation_error"]]
    [1.0, 0.4472, 0.0022, 0.0]
    """
    sigma = np.asarray(values, dtype=np.float64)
    energy = sigma**2
    total = float(energy.sum())
    top = float(sigma[0]) if sigma.size else 0.0
    for name, group in (("tolerances", tolerances), ("energies", energies)):
        if any(not (math.isfinite(v) and 0 < v <= 1) for v in group):
            raise ValueError(f"{name} must lie in (0, 1], got {list(group)}")
    tail = np.concatenate([np.cumsum(energy[::-1])[::-1], [0.0]])
    kept = np.cumsum(energy)
    return {
        "tolerance_ranks": {str(t): int((sigma > t * top).sum()) if top > 0 else 0 for t in tolerances},
        "energy_ranks": {str(e): int(np.searchsorted(kept, e * total * (1 - 1e-12)) + 1) if total > 0 else 0
                         for e in energies},
        "approximation_error": [float(math.sqrt(max(t, 0.0) / total)) if total > 0 else 0.0 for t in tail],
    }


@dataclass
class TaskProbeResult:
    """The Start-End matrix of a network on the task's own data, beside the optimal predictor's.

    Attributes
    ----------
    source : str
        ``"task"``.
    kind : str
        ``"float"``: float ranks of particular weights.
    length : int
        T.
    pairs : int
        N: the matrices are N × N (N first halves times N second halves).
    output_index : int
        The output coordinate read at the last step.
    spectrum, target_spectrum : list of float
        Singular values of the network's matrix and of the optimal predictor's.
    tolerance_ranks, target_tolerance_ranks : dict
        Ranks at relative tolerances 1e-1, 1e-2, 1e-3 of σ_max.
    energy_ranks, target_energy_ranks : dict
        Ranks holding 90% and 99% of the Frobenius energy.
    approximation_error, target_approximation_error : list of float
        Relative error of the best rank-r approximation, r = 0..N.
    seconds : float
    """

    source: str
    kind: str
    length: int
    pairs: int
    output_index: int
    spectrum: list[float]
    target_spectrum: list[float]
    tolerance_ranks: dict
    target_tolerance_ranks: dict
    energy_ranks: dict
    target_energy_ranks: dict
    approximation_error: list[float]
    target_approximation_error: list[float]
    seconds: float

    def to_dict(self) -> dict:
        """A JSON-ready dictionary."""
        return asdict(self)


def task_probe(model, task, *, pairs: int = 128, seed: int = 0, output_index: int = 0,
               batch_size: int = 4096) -> TaskProbeResult:
    """Probe a trained model on the task's own data: the N × N Start-End matrix over real inputs.

    ``pairs`` first halves and ``pairs`` second halves are drawn from the task
    (:meth:`tnrnn.nn.tasks.Task.probe_halves`; for Start-End Similarity every half uses
    one shared word offset, so that each pair is an input the task can produce). Entry
    (i, j) is the network's output ``output_index`` at the last step on first half i
    followed by second half j (float64 copy of the model, ``h_0 = 0``). The same matrix
    is built for the task's optimal predictor (:meth:`~tnrnn.nn.tasks.Task.target_matrix`:
    the indicator of the class for Start-End Similarity, the exact sum for adding), and
    both spectra are summarised by :func:`spectral_ranks`.

    What this does and does not say: it measures how much Start-End structure the
    trained network expresses on the data it was trained for, beside how much the task
    needs. An argmax classifier can reach high accuracy with a logit matrix of far lower
    rank than the optimal predictor's indicator, so a low rank does not mean failure, and
    a float rank of particular weights is never the generic rank of the architecture.

    Parameters
    ----------
    model : torch.nn.Module
        Maps ``(B, T, input_size)`` to ``(B, T, output_size)``.
    task : tnrnn.nn.tasks.Task
        Start-End Similarity or adding (copying has no data in its second half).
    pairs : int
        N >= 2.
    seed : int
        Seed of the drawn halves.
    output_index : int
        The output coordinate probed (a class logit, or 0 for adding).
    batch_size : int
        Sequences per forward pass.

    Returns
    -------
    TaskProbeResult

    Raises
    ------
    ValueError
        A task without a task-data probe, ``pairs`` < 2, an output index out of range.
    NonFiniteOutputError
        If the network's outputs are not finite.

    Notes
    -----
    N² forward passes of length T: O(N² · T · L · R²).

    Examples
    --------
    >>> import torch
    >>> from tnrnn.nn import DeepRNN, make_task
    >>> task = make_task("ses", 8, alphabet=4, word_length=2)
    >>> net = DeepRNN("modrelu", task.input_size, 3, hidden=6, depth=2)
    >>> result = task_probe(net, task, pairs=16, output_index=2)
    >>> result.source, len(result.spectrum), len(result.approximation_error)
    ('task', 16, 17)
    """
    import torch

    from tnrnn.nn.copies import float64_copy

    for name, value, low in (("pairs", pairs, 2), ("batch_size", batch_size, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise ValueError(f"{name} must be an integer >= {low}, got {value!r}")
    if isinstance(output_index, bool) or not isinstance(output_index, int) or not (
            0 <= output_index < task.output_size):
        raise ValueError(f"output_index must be in 0..{task.output_size - 1}, got {output_index!r}")
    start = time.perf_counter()
    first, second = task.probe_halves(pairs, torch.Generator().manual_seed(seed))
    net = float64_copy(model)
    parameter = next(iter(net.parameters()))
    matrix = np.empty((pairs, pairs))
    rows_per_pass = max(1, batch_size // pairs)
    with torch.no_grad():
        for i in range(0, pairs, rows_per_pass):
            block = first[i:i + rows_per_pass]
            left = block.repeat_interleave(pairs, dim=0)
            right = second.repeat(block.shape[0], *([1] * (second.dim() - 1)))
            inputs = task.join(left, right).to(parameter.device, torch.float64)
            out = net(inputs)[:, -1, output_index]
            matrix[i:i + block.shape[0]] = out.double().cpu().numpy().reshape(block.shape[0], pairs)
    if not np.all(np.isfinite(matrix)):
        raise NonFiniteOutputError("the probed outputs contain NaN or infinity: the model diverged")
    target = task.target_matrix(first, second, output_index).numpy()
    found = np.linalg.svd(matrix, compute_uv=False)
    wanted = np.linalg.svd(target, compute_uv=False)
    mine, theirs = spectral_ranks(found), spectral_ranks(wanted)
    return TaskProbeResult("task", "float", task.sequence_length, pairs, output_index,
                           [float(v) for v in found], [float(v) for v in wanted],
                           mine["tolerance_ranks"], theirs["tolerance_ranks"], mine["energy_ranks"],
                           theirs["energy_ranks"], mine["approximation_error"], theirs["approximation_error"],
                           time.perf_counter() - start)
