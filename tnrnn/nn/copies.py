"""Copies of a model for measuring it: a float64 twin that leaves the trained model untouched.

Both the probes (:mod:`tnrnn.probe`) and the time-scale lens
(:mod:`tnrnn.lenses.timescale.diagnostics`) measure a float64 copy of a model, so that long
products of gates and long-lag gradients do not underflow and the training model (its
weights, dtype, mode and ``.grad``) is not touched.
"""

from __future__ import annotations

import copy

from torch import nn

__all__ = ["float64_copy"]


def float64_copy(model: nn.Module, *, eval_mode: bool = True, strict: bool = False) -> nn.Module:
    """A deep copy of ``model`` in float64.

    Parameters
    ----------
    model : torch.nn.Module
        The model to copy; it is not modified.
    eval_mode : bool
        Put the copy in evaluation mode (default, what the probes read); ``False`` keeps
        the training flag of ``model`` (what the time-scale diagnostics differentiate).
    strict : bool
        Raise if the copy cannot be converted to float64; by default a module that cannot
        (``RuntimeError`` or ``TypeError`` from ``.double()``) is returned as a plain copy.

    Returns
    -------
    torch.nn.Module
        The copy.

    Examples
    --------
    >>> import torch
    >>> net = torch.nn.Linear(2, 1)
    >>> twin = float64_copy(net)
    >>> twin.weight.dtype, net.weight.dtype, twin.training, net.training
    (torch.float64, torch.float32, False, True)
    >>> float64_copy(net, eval_mode=False).training
    True
    >>> bool(torch.equal(twin.weight.float(), net.weight))
    True
    """
    if strict:
        clone = copy.deepcopy(model).double()
    else:
        try:
            clone = copy.deepcopy(model).double()
        except (RuntimeError, TypeError):  # pragma: no cover - exotic modules
            clone = copy.deepcopy(model)
    return clone.eval() if eval_mode else clone
