"""Memory tasks with seeded generators: copying, Start-End Similarity, adding.

Every task is a :class:`Task`: it draws batches from a ``torch.Generator``
(``sample``), scores per-step network outputs (``loss``, ``metric``) and knows the
loss of the best *memoryless* predictor (``baseline_loss``), the bar a network must
beat to show that it remembers anything.

Symbol tasks (copying, Start-End Similarity) are fed one-hot vectors; their raw
token sequences are available (``sample_tokens``, ``encode``) so that a trained
network can be probed over the task alphabet.

Conventions
-----------
copying (Arjovsky et al. 2016; ``length`` = delay B, word length K = 10, 8 data symbols)
    Symbols: 0 blank, 1..n data, n+1 delimiter. Input of length B + 2K: K data symbols
    uniform in 1..n, B-1 blanks, the delimiter, K blanks. Target: B+K blanks, then the
    K data symbols (first recall one step *after* the delimiter).
    ``variant="exprnn"``: B blanks, the delimiter, K-1 blanks (the expRNN code: the
    first recall is at the delimiter step itself). Same target.
    ``variant="marker"``: the variant of the code of Levine et al. (arXiv:1710.09431)
    and Ziv (arXiv:2003.10163): K = 30 symbols from n = 32 by default, B + K blanks, and
    the recall marker overwriting the first recall position (index T - K), the same
    layout as ``"exprnn"``.
    Baseline: blank where the target is always blank, uniform over the n data symbols
    in the recall window: cross-entropy ``K ln n / (B + 2K)``.
    Metric: accuracy on the K recalled symbols (1/n for the baseline).
start-end similarity (the code of Levine et al. and Ziv; ``length`` = T, even)
    n data symbols (default 32) plus a blank (symbol 0) when m < T/2. A word of m
    symbols at a random offset o of the first half and a second word at offset T/2 + o,
    o uniform in [0, T/2 - m - 1] (the last slot of each half stays blank, as in that
    code) when m < T/2, o = 0 when m = T/2. The number of aligned equal positions k is uniform over
    {0, floor(m/2), m}; the k equal positions are uniform; every other aligned pair is
    forced to differ. Label ``round(2 k / m)`` in {0, 1, 2}, read at the last step.
    Baseline ``ln 3`` (balanced classes); metric: accuracy.
adding (Hochreiter & Schmidhuber 1997; ``length`` = T >= 2)
    Two channels: values U[0, 1] and a marker with one 1 in each half
    (positions [0, T//2) and [T//2, T)). Target: the sum of the two marked values, read
    at the last step, MSE. Baseline: the constant predictor 1 (the best constant), MSE
    ``Var(U1 + U2) = 1/6`` exactly. Metric: fraction of sequences with |error| < 0.04.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn.functional as F

__all__ = ["Task", "CopyingTask", "StartEndSimilarityTask", "AddingTask", "make_task", "TASKS",
           "ADDING_TOLERANCE"]

#: Task names accepted by :func:`make_task`.
TASKS = ("copying", "ses", "adding")

#: |prediction - target| below which an adding-task answer counts as correct.
ADDING_TOLERANCE = 0.04

_COPYING_VARIANTS = ("arjovsky", "exprnn", "marker")


def _int_arg(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


@dataclass(frozen=True)
class Task:
    """A sequence task: sizes, a seeded sampler, a loss, a metric and a memoryless baseline.

    Attributes
    ----------
    name : str
        ``"copying"``, ``"ses"`` or ``"adding"``.
    length : int
        The task's own length parameter (delay B for copying, T otherwise).
    sequence_length : int
        T actually fed to the network.
    input_size, output_size : int
        Width of the network input and of its per-step output.
    alphabet_size : int or None
        Number of distinct input symbols (one-hot width) for symbol tasks, else None.
    baseline_loss : float
        Loss of the best memoryless predictor (see the module docstring).
    last_step_only : bool
        Whether ``loss`` and ``metric`` read the last step's output only (they then accept
        outputs with a time axis of length 1): ses and adding.
    """

    last_step_only: ClassVar[bool] = False

    name: str
    length: int
    sequence_length: int
    input_size: int
    output_size: int
    alphabet_size: int | None
    baseline_loss: float

    def sample(self, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw a batch: ``(inputs float32 (B, T, input_size), targets)``."""
        tokens, targets = self.sample_tokens(batch_size, generator)
        return self.encode(tokens), targets

    def sample_tokens(self, batch_size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw a batch of raw token sequences ``(tokens long (B, T), targets)``."""
        raise NotImplementedError

    def sample_tokens_together(self, batch_size: int,
                               generators: list[torch.Generator]) -> tuple[torch.Tensor, torch.Tensor]:
        """One batch from each generator, stacked: ``(tokens (K, B, T), targets (K, B, ...))``.

        Batch k is ``sample_tokens(batch_size, generators[k])``, with the same draws from that
        generator: the members of an ensemble each keep their own data stream.

        Examples
        --------
        >>> task = make_task("ses", 12, word_length=2)
        >>> tokens, labels = task.sample_tokens_together(3, [torch.Generator().manual_seed(k) for k in (0, 1)])
        >>> alone, alone_labels = task.sample_tokens(3, torch.Generator().manual_seed(1))
        >>> tuple(tokens.shape), bool(torch.equal(tokens[1], alone)), bool(torch.equal(labels[1], alone_labels))
        ((2, 3, 12), True, True)
        """
        batches = [self.sample_tokens(batch_size, generator) for generator in generators]
        return torch.stack([b[0] for b in batches]), torch.stack([b[1] for b in batches])

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """One-hot encode tokens ``(B, T)`` -> float32 ``(B, T, input_size)``.

        Raises
        ------
        ValueError
            For tasks without symbols, or tokens outside ``[0, alphabet_size)``.
        """
        if self.alphabet_size is None:
            raise ValueError(f"task {self.name!r} has real-valued inputs, not symbols: nothing to encode")
        tokens = torch.as_tensor(tokens)
        if tokens.dim() != 2:
            raise ValueError(f"tokens must have shape (batch, T), got {tuple(tokens.shape)}")
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= self.alphabet_size):
            raise ValueError(f"tokens must lie in [0, {self.alphabet_size}), got values in "
                             f"[{int(tokens.min())}, {int(tokens.max())}]")
        return F.one_hot(tokens.long(), self.alphabet_size).float()

    def loss(self, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        """Scalar training loss of per-step outputs ``(B, T, output_size)``."""
        raise NotImplementedError

    def metric(self, outputs: torch.Tensor, targets: torch.Tensor) -> float:
        """Task score in [0, 1] (accuracy or fraction within tolerance)."""
        raise NotImplementedError

    def probe_halves(self, count: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``count`` first halves and ``count`` second halves, drawn independently from the task.

        Any first half joined to any second half (:meth:`join`) is a valid input, so the
        ``count × count`` matrix of a network's output over all pairs is the Start-End
        matricization of the network on the task's own data (:func:`tnrnn.probe.task_probe`).

        Raises
        ------
        ValueError
            For a task whose second half carries no data (copying).
        """
        raise ValueError(f"task {self.name!r} has no task-data probe: its second half carries no data "
                         f"(probe it over template symbols instead); tasks with one: ses, adding")

    def join(self, first: torch.Tensor, second: torch.Tensor) -> torch.Tensor:
        """Network inputs of the sequences ``first[i] ∘ second[i]`` (halves from :meth:`probe_halves`)."""
        whole = torch.cat([first, second], dim=1)
        return self.encode(whole) if self.alphabet_size is not None else whole

    def target_matrix(self, first: torch.Tensor, second: torch.Tensor, output_index: int = 0) -> torch.Tensor:
        """The optimal predictor's output over all pairs ``(first[i], second[j])``, float64 ``(N, N)``."""
        raise NotImplementedError

    def _check_batch(self, batch_size: int, generator) -> None:
        _int_arg(batch_size, "batch_size", 1)
        if not isinstance(generator, torch.Generator):
            raise ValueError(f"generator must be a torch.Generator, got {type(generator).__name__}")


@dataclass(frozen=True)
class CopyingTask(Task):
    """Copying memory: recall ``word_length`` symbols after a delay (see module docstring).

    Examples
    --------
    >>> task = make_task("copying", 3, alphabet=2, word_length=2)
    >>> task.sequence_length, task.input_size, task.output_size
    (7, 4, 3)
    >>> task.example([[1, 2]])[0].tolist(), task.example([[1, 2]])[1].tolist()
    ([[1, 2, 0, 0, 3, 0, 0]], [[0, 0, 0, 0, 0, 1, 2]])
    """

    alphabet: int = 8
    word_length: int = 10
    variant: str = "arjovsky"

    @property
    def delimiter(self) -> int:
        """Token of the delimiter (recall marker)."""
        return self.alphabet + 1

    @property
    def delimiter_position(self) -> int:
        """0-based time step of the delimiter."""
        return self.length + self.word_length - (0 if self.variant in ("exprnn", "marker") else 1)

    @property
    def recall_start(self) -> int:
        """0-based time step of the first recalled symbol."""
        return self.length + self.word_length

    def example(self, words) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens and targets for given data words ``(B, word_length)`` with entries in 1..n."""
        words = torch.as_tensor(words, dtype=torch.long)
        if words.dim() != 2 or words.shape[1] != self.word_length:
            raise ValueError(f"words must have shape (batch, {self.word_length}), got {tuple(words.shape)}")
        if words.numel() and (int(words.min()) < 1 or int(words.max()) > self.alphabet):
            raise ValueError(f"data symbols must lie in 1..{self.alphabet}")
        batch = words.shape[0]
        tokens = torch.zeros(batch, self.sequence_length, dtype=torch.long)
        tokens[:, : self.word_length] = words
        tokens[:, self.delimiter_position] = self.delimiter
        targets = torch.zeros(batch, self.sequence_length, dtype=torch.long)
        targets[:, self.recall_start:] = words
        return tokens, targets

    def sample_tokens(self, batch_size, generator):
        self._check_batch(batch_size, generator)
        words = torch.randint(1, self.alphabet + 1, (batch_size, self.word_length), generator=generator)
        return self.example(words)

    def loss(self, outputs, targets):
        return F.cross_entropy(outputs.reshape(-1, outputs.shape[-1]), targets.reshape(-1))

    def metric(self, outputs, targets):
        recalled = outputs[:, self.recall_start:].argmax(-1)
        return float((recalled == targets[:, self.recall_start:]).float().mean())


@dataclass(frozen=True)
class StartEndSimilarityTask(Task):
    """Start-End Similarity: how many aligned symbols two words share (see module docstring).

    Examples
    --------
    >>> task = make_task("ses", 8, alphabet=4, word_length=2)
    >>> task.input_size, task.output_size, task.blank
    (5, 3, True)
    >>> task.example([[1, 2]], [[1, 3]], offsets=[1])[0].tolist()
    [[0, 1, 2, 0, 0, 1, 3, 0]]
    >>> task.example([[1, 2]], [[1, 3]], offsets=[1])[1].tolist()
    [1]
    """

    alphabet: int = 32
    word_length: int = 30
    last_step_only: ClassVar[bool] = True

    @property
    def blank(self) -> bool:
        """Whether a blank symbol (token 0) pads the words (m < T/2)."""
        return self.word_length < self.length // 2

    @property
    def first_symbol(self) -> int:
        """Token of the first data symbol (1 with a blank, else 0)."""
        return 1 if self.blank else 0

    def example(self, first, second, offsets) -> tuple[torch.Tensor, torch.Tensor]:
        """Tokens and labels for given words ``(B, m)`` (data tokens) placed at ``offsets`` (B,)."""
        first = torch.as_tensor(first, dtype=torch.long)
        second = torch.as_tensor(second, dtype=torch.long)
        offsets = torch.as_tensor(offsets, dtype=torch.long).reshape(-1)
        m, half = self.word_length, self.length // 2
        if first.shape != second.shape or first.dim() != 2 or first.shape[1] != m:
            raise ValueError(f"words must both have shape (batch, {m}), got {tuple(first.shape)} "
                             f"and {tuple(second.shape)}")
        if offsets.shape[0] != first.shape[0] or (offsets.numel() and (
                int(offsets.min()) < 0 or int(offsets.max()) > half - m)):
            raise ValueError(f"offsets must be {first.shape[0]} integers in [0, {half - m}]")
        return self._tokens_and_labels(first, second, offsets)

    def _tokens_and_labels(self, first: torch.Tensor, second: torch.Tensor,
                           offsets: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`example` of checked arguments."""
        m, half = self.word_length, self.length // 2
        batch = first.shape[0]
        tokens = torch.zeros(batch, self.length, dtype=torch.long)
        columns = offsets[:, None] + torch.arange(m)[None, :]
        rows = torch.arange(batch)[:, None]
        tokens[rows, columns] = first
        tokens[rows, columns + half] = second
        equal = (first == second).sum(1)
        labels = torch.round(2.0 * equal.double() / m).long()
        return tokens, labels

    def sample_tokens(self, batch_size, generator):
        self._check_batch(batch_size, generator)
        return self._assemble(*self._draw(batch_size, generator))

    def sample_tokens_together(self, batch_size, generators):
        for generator in generators:
            self._check_batch(batch_size, generator)
        # each generator's own draws, in sample_tokens's order; the arithmetic once for all
        draws = [self._draw(batch_size, generator) for generator in generators]
        tokens, labels = self._assemble(*(torch.cat(parts) for parts in zip(*draws)))
        return tokens.view(len(generators), batch_size, -1), labels.view(len(generators), batch_size)

    def _draw(self, batch_size: int, g: torch.Generator) -> tuple[torch.Tensor, ...]:
        """The random draws of one batch: offsets, overlap classes, permutation keys, words, shifts."""
        m, n, half = self.word_length, self.alphabet, self.length // 2
        offsets = torch.randint(0, max(half - m, 1), (batch_size,), generator=g)
        classes = torch.randint(0, 3, (batch_size,), generator=g)
        keys = torch.rand(batch_size, m, generator=g)
        first = torch.randint(0, n, (batch_size, m), generator=g)
        shift = torch.randint(1, n, (batch_size, m), generator=g)
        return offsets, classes, keys, first, shift

    def _assemble(self, offsets, classes, keys, first, shift) -> tuple[torch.Tensor, torch.Tensor]:
        """Sequences and labels from the draws of :meth:`_draw` (any number of rows)."""
        m, n = self.word_length, self.alphabet
        overlap = torch.tensor([0, m // 2, m])[classes]
        # k equal positions, uniform among the m: the k smallest of a random permutation.
        ranks = torch.argsort(keys, dim=1).argsort(dim=1)
        same = ranks < overlap[:, None]
        # A different symbol: shift by a uniform amount in 1..n-1 modulo n.
        second = torch.where(same, first, (first + shift) % n)
        return self._tokens_and_labels(first + self.first_symbol, second + self.first_symbol, offsets)

    def loss(self, outputs, targets):
        return F.cross_entropy(outputs[:, -1], targets)

    def metric(self, outputs, targets):
        return float((outputs[:, -1].argmax(-1) == targets).float().mean())

    def probe_halves(self, count, generator):
        """Halves with one shared word offset: words uniform and independent (the task's marginals).

        The offset o is drawn once, as the task draws it, and used by every half, so that
        every pair of halves aligns its two words (a pair with two offsets is not an input
        the task can produce).

        Examples
        --------
        >>> task = make_task("ses", 8, alphabet=4, word_length=2)
        >>> first, second = task.probe_halves(3, torch.Generator().manual_seed(0))
        >>> tuple(first.shape), task.join(first, second).shape
        ((3, 4), torch.Size([3, 8, 5]))
        """
        self._check_batch(count, generator)
        m, half = self.word_length, self.length // 2
        offset = int(torch.randint(0, max(half - m, 1), (1,), generator=generator))
        halves = []
        for _ in range(2):
            tokens = torch.zeros(count, half, dtype=torch.long)
            words = torch.randint(0, self.alphabet, (count, m), generator=generator) + self.first_symbol
            tokens[:, offset:offset + m] = words
            halves.append(tokens)
        return halves[0], halves[1]

    def target_matrix(self, first, second, output_index=0):
        """Indicator of class ``output_index`` (the label is a function of the input)."""
        equal = (first[:, None, :] == second[None, :, :]) & (first[:, None, :] >= self.first_symbol)
        labels = torch.round(2.0 * equal.sum(-1).double() / self.word_length).long()
        return (labels == output_index).double()


@dataclass(frozen=True)
class AddingTask(Task):
    """Adding problem: the sum of the two marked values (see module docstring).

    Examples
    --------
    >>> task = make_task("adding", 4)
    >>> x, y = task.sample(2, torch.Generator().manual_seed(0))
    >>> tuple(x.shape), bool(torch.allclose((x[..., 0] * x[..., 1]).sum(1), y))
    ((2, 4, 2), True)
    """

    last_step_only: ClassVar[bool] = True

    def sample_tokens(self, batch_size, generator):
        raise ValueError("task 'adding' has real-valued inputs, not symbols: use sample()")

    def sample(self, batch_size, generator):
        self._check_batch(batch_size, generator)
        t, half = self.length, self.length // 2
        values = torch.rand(batch_size, t, generator=generator)
        first = torch.randint(0, half, (batch_size,), generator=generator)
        second = torch.randint(half, t, (batch_size,), generator=generator)
        marker = torch.zeros(batch_size, t)
        rows = torch.arange(batch_size)
        marker[rows, first] = 1.0
        marker[rows, second] = 1.0
        inputs = torch.stack([values, marker], dim=-1)
        return inputs, values[rows, first] + values[rows, second]

    def probe_halves(self, count, generator):
        """Halves of the task: values U[0, 1] and one marker in each half."""
        inputs, _ = self.sample(count, generator)
        half = self.length // 2
        second, _ = self.sample(count, generator)
        return inputs[:, :half], second[:, half:]

    def target_matrix(self, first, second, output_index=0):
        """The sum of the two marked values: ``a_i + b_j``, a matrix of rank at most 2."""
        a = (first[..., 0] * first[..., 1]).sum(1).double()
        b = (second[..., 0] * second[..., 1]).sum(1).double()
        return a[:, None] + b[None, :]

    def loss(self, outputs, targets):
        return F.mse_loss(outputs[:, -1, 0], targets)

    def metric(self, outputs, targets):
        return float(((outputs[:, -1, 0] - targets).abs() < ADDING_TOLERANCE).float().mean())


def make_task(name: str, length: int, *, alphabet: int | None = None, word_length: int | None = None,
              variant: str | None = None) -> Task:
    """Build a task by name (conventions in the module docstring).

    Parameters
    ----------
    name : {"copying", "ses", "adding"}
    length : int
        Copying: the delay B >= 1 (sequence B + 2K). ses: even T >= 2m. adding: T >= 2.
    alphabet : int, optional
        Number of data symbols n (copying: 8, or 32 for ``variant="marker"``; ses: 32).
    word_length : int, optional
        Copying: K symbols to recall (10, or 30 for ``variant="marker"``);
        ses: m (default ``min(30, T/2)``), m >= 2.
    variant : str, optional
        Copying only: ``"arjovsky"`` (default), ``"exprnn"`` or ``"marker"``.

    Returns
    -------
    Task

    Raises
    ------
    ValueError
        Unknown name or variant, a length too short for the task, an option that the task
        does not take.

    Examples
    --------
    >>> t = make_task("copying", 100)
    >>> t.sequence_length, round(t.baseline_loss, 4)
    (120, 0.1733)
    >>> make_task("ses", 10).word_length
    5
    >>> make_task("ses", 9)
    Traceback (most recent call last):
    ...
    ValueError: ses needs an even length T, got 9
    """
    if name not in TASKS:
        raise ValueError(f"unknown task {name!r}; valid tasks: {', '.join(TASKS)}")
    if name != "copying" and variant is not None:
        raise ValueError(f"variant applies to the copying task only, got variant={variant!r} for {name!r}")
    if name == "copying":
        variant = "arjovsky" if variant is None else variant
        if variant not in _COPYING_VARIANTS:
            raise ValueError(f"unknown copying variant {variant!r}; valid: {', '.join(_COPYING_VARIANTS)}")
        big = variant == "marker"
        n = _int_arg(32 if big and alphabet is None else 8 if alphabet is None else alphabet, "alphabet", 1)
        k = _int_arg(30 if big and word_length is None else 10 if word_length is None else word_length,
                     "word_length", 1)
        b = _int_arg(length, "length (copying delay B)", 1)
        t = b + 2 * k
        return CopyingTask("copying", b, t, n + 2, n + 1, n + 2, k * math.log(n) / t,
                           alphabet=n, word_length=k, variant=variant)
    if name == "ses":
        t = _int_arg(length, "length", 4)
        if t % 2:
            raise ValueError(f"ses needs an even length T, got {t}")
        m = _int_arg(min(30, t // 2) if word_length is None else word_length, "word_length", 2)
        if 2 * m > t:
            raise ValueError(f"ses needs T >= 2m: word_length m={m} does not fit twice in length T={t}")
        n = _int_arg(32 if alphabet is None else alphabet, "alphabet", 2)
        size = n + (1 if m < t // 2 else 0)
        return StartEndSimilarityTask("ses", t, t, size, 3, size, math.log(3), alphabet=n, word_length=m)
    if alphabet is not None or word_length is not None:
        raise ValueError("the adding task takes no alphabet or word_length")
    t = _int_arg(length, "length (adding T)", 2)
    return AddingTask("adding", t, t, 2, 1, None, 1.0 / 6.0)
