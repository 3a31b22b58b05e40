"""Parameter counts in closed form, and the width that meets a parameter budget at a given depth.

Comparing depths fairly means comparing them at a matched number of *free* parameters
(Ziv, arXiv:2003.10163, logged the counts of every network): an orthogonal R×R matrix
stores R² numbers but has only R(R-1)/2 degrees of freedom. :func:`width_for_budget`
gives the widest network of a depth that stays within a budget.
"""

from __future__ import annotations

import functools

from tnrnn._validation import positive_int
from tnrnn.guards import SizeLimitError, check_bytes

__all__ = ["parameter_count", "width_for_budget", "check_train_size"]

_GATES = {"lstm": 4, "gru": 3}


def _check(cell: str, depth: int, input_size: int, output_size: int) -> None:
    from tnrnn.nn.config import CELLS

    if cell not in CELLS:
        raise ValueError(f"unknown cell {cell!r}; valid cells: {', '.join(CELLS)}")
    for name, value in (("depth", depth), ("input_size", input_size), ("output_size", output_size)):
        positive_int(value, name)


def parameter_count(cell: str, depth: int, hidden: int, input_size: int, output_size: int, *,
                    orthogonal: bool = False) -> int:
    """Parameters of :class:`~tnrnn.nn.stack.DeepRNN`.

    Per layer with fan-in ``f``: rac ``R f + R²``; tanh and modrelu ``R f + R² + R``;
    lstm ``4R (f + R) + 8R``; gru ``3R (f + R) + 6R``. Readout ``R · out`` (+ ``out`` bias
    except for rac). With ``orthogonal=True`` each ``W^H`` counts its R(R-1)/2 free
    parameters (``count_free_parameters`` of the model), otherwise the R² it stores
    (``count_parameters``).

    Examples
    --------
    >>> parameter_count("rac", depth=2, hidden=4, input_size=3, output_size=2)
    68
    >>> parameter_count("rac", depth=2, hidden=4, input_size=3, output_size=2, orthogonal=True)
    48
    """
    _check(cell, depth, input_size, output_size)
    r = hidden
    total = 0
    for layer in range(depth):
        fan_in = input_size if layer == 0 else r
        if cell in _GATES:
            g = _GATES[cell]
            total += g * r * (fan_in + r) + 2 * g * r
        else:
            recurrent = r * (r - 1) // 2 if orthogonal else r * r
            total += r * fan_in + recurrent + (0 if cell == "rac" else r)
    return total + r * output_size + (0 if cell == "rac" else output_size)


def width_for_budget(cell: str, depth: int, budget: int, input_size: int, output_size: int, *,
                     orthogonal: bool = False) -> int:
    """The largest width R whose network has at most ``budget`` parameters.

    Parameters
    ----------
    cell : str
    depth : int
    budget : int
        Maximum number of trainable parameters.
    input_size, output_size : int
        Of the task.
    orthogonal : bool
        Count each orthogonal ``W^H`` by its free parameters (see :func:`parameter_count`).

    Returns
    -------
    int
        R >= 1.

    Raises
    ------
    ValueError
        If even R = 1 exceeds the budget, or an argument is invalid.

    Notes
    -----
    The count is increasing in R, so a binary search finds R in O(log budget) evaluations.

    Examples
    --------
    >>> [width_for_budget("modrelu", d, 20000, 10, 9) for d in (1, 2, 3)]
    [131, 78, 61]
    >>> [width_for_budget("modrelu", d, 20000, 10, 9, orthogonal=True) for d in (1, 2, 3)]
    [181, 95, 72]
    """
    _check(cell, depth, input_size, output_size)
    if isinstance(budget, bool) or not isinstance(budget, int):
        raise ValueError(f"budget must be an integer, got {budget!r}")
    count = functools.partial(parameter_count, cell, depth, input_size=input_size, output_size=output_size,
                              orthogonal=orthogonal)
    smallest = count(hidden=1)
    if budget < smallest:
        raise ValueError(f"budget={budget} is below the {smallest} parameters of a width-1 {cell} "
                         f"network of depth {depth}")
    low, high = 1, 2
    while count(hidden=high) <= budget:
        low, high = high, 2 * high
    while high - low > 1:
        mid = (low + high) // 2
        if count(hidden=mid) <= budget:
            low = mid
        else:
            high = mid
    return low


def check_train_size(config, members: int = 1, max_bytes: int | None = None, *, source: str = "",
                     training: bool = True) -> None:
    """Refuse a network, evaluation set or batch beyond the memory limit before building it (float32).

    The same check guards ``tnrnn train``, every point of ``tnrnn sweep`` (before the first
    one starts) and the loading of a run's ``config.json`` by ``tnrnn probe``.

    Parameters
    ----------
    config : TrainConfig
    members : int
        Networks trained together (an ensemble's seeds).
    max_bytes : int, optional
        The limit (default ``TNRNN_MAX_BYTES`` or 4 GiB).
    source : str
        Where the configuration came from, prefixed to the message (``"sweep.toml point (depth=2)"``).
    training : bool
        Also the optimiser state, the evaluation sets and the backpropagated batch (False:
        the weights only, as loading a run for a probe needs).

    Raises
    ------
    SizeLimitError
        With the predicted memory and the limit.

    Examples
    --------
    >>> from tnrnn.nn import TrainConfig
    >>> check_train_size(TrainConfig(task="ses", length=8, cell="rac", depth=1, hidden=4))
    """
    task = config.make_task()
    hidden, depth = config.hidden, config.depth
    parameters = members * parameter_count(config.cell, depth, hidden, task.input_size, task.output_size)
    try:
        # training: weights, gradients, optimiser state and the best copy: 4 float32 copies
        check_bytes((16 if training else 4) * parameters,
                    f"{members} {config.cell} network(s) of depth {depth}, width {hidden} ({parameters:,} parameters)",
                    max_bytes)
        if not training:
            return
        steps = task.sequence_length
        check_bytes(4 * members * max(config.val_size, config.test_size) * steps * (task.input_size + 2),
                    f"{members} evaluation set(s) of {max(config.val_size, config.test_size)} sequences of {steps} "
                    f"steps", max_bytes)
        # activations kept for backpropagation: about 8 float32 per unit, step and example
        check_bytes(32 * members * config.batch_size * steps * hidden * depth,
                    f"{members} batch(es) of {config.batch_size} sequences of {steps} steps through width {hidden}, "
                    f"depth {depth}", max_bytes)
    except SizeLimitError as error:
        if source:
            raise SizeLimitError(f"{source}: {error}") from None
        raise
