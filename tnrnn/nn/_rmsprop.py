"""Several RMSprop optimisers stepped as one: the members of an ensemble.

Each member of :func:`tnrnn.nn.train_ensemble` keeps its own ``torch.optim.RMSprop`` (its
own learning rates, schedule and checkpoint). Stepping them one by one costs each its
Python dispatch and one small kernel per operation and parameter; :func:`step_together`
runs the same update through torch's functional ``rmsprop`` with ``foreach=True`` over the
parameters of all of them, one call per distinct set of hyperparameters (the members'
learning rates differ once their schedules do).

The same numbers, bit for bit: on CPU the foreach operations run the single-tensor
operations of ``RMSprop.step`` in the same order (tested against it).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch.optim.rmsprop import rmsprop

__all__ = ["step_together"]

_PLAIN = {"weight_decay": 0, "momentum": 0, "centered": False, "maximize": False, "differentiable": False,
          "capturable": False}


def _steppable(optimizer: torch.optim.Optimizer) -> bool:
    """A plain RMSprop whose every parameter with a gradient already has its state (step, square_avg)."""
    if type(optimizer) is not torch.optim.RMSprop:
        return False
    for group in optimizer.param_groups:
        if any(group.get(key, value) != value for key, value in _PLAIN.items()):
            return False
        for p in group["params"]:
            if p.grad is None:
                continue
            state = optimizer.state.get(p)
            if (not state or set(state) != {"step", "square_avg"} or p.grad.is_sparse or p.is_complex()
                    or not state["step"].is_cpu):
                return False
    return True


def step_together(optimizers: Sequence[torch.optim.Optimizer]) -> None:
    """``optimizer.step()`` of every optimiser, the plain RMSprops among them as one foreach update.

    An optimiser that is not a plain RMSprop (momentum, centring, weight decay, ...) or has a
    parameter without state yet (its first step) takes its own ``step()``.

    Examples
    --------
    >>> a, b = torch.nn.Linear(2, 1), torch.nn.Linear(2, 1)
    >>> optimizers = [torch.optim.RMSprop(m.parameters(), lr=0.1) for m in (a, b)]
    >>> for _ in range(2):
    ...     for m in (a, b):
    ...         m(torch.ones(1, 2)).sum().backward()
    ...     step_together(optimizers)
    >>> [int(optimizers[0].state[a.weight]["step"])] * 2 == [int(optimizers[1].state[b.bias]["step"])] * 2
    True
    """
    batches: dict[tuple, tuple[list, list, list, list]] = {}
    for optimizer in optimizers:
        if not _steppable(optimizer):
            optimizer.step()
            continue
        for group in optimizer.param_groups:
            key = (float(group["lr"]), float(group["alpha"]), float(group["eps"]))
            params, grads, averages, steps = batches.setdefault(key, ([], [], [], []))
            for p in group["params"]:
                if p.grad is not None:
                    state = optimizer.state[p]
                    params.append(p)
                    grads.append(p.grad)
                    averages.append(state["square_avg"])
                    steps.append(state["step"])
    with torch.no_grad():
        for (lr, alpha, eps), (params, grads, averages, steps) in batches.items():
            rmsprop(params, grads, averages, [], [], steps, foreach=True, lr=lr, alpha=alpha, eps=eps,
                    weight_decay=0, momentum=0, centered=False)
