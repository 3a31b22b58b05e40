"""The short-memory bias of linear RNNs (M. Emami, M. Sahraee-Ardakan, P. Pandit, S. Rangan,
A. K. Fletcher, "Implicit Bias of Linear RNNs", arXiv:2101.07833).

A linear RNN ``h_t = W h_{t-1} + F x_t``, ``y_t = C h_t`` is a convolution with Markov
parameters ``K_j = C W^{j-1} F``. Trained from a wide random initialisation it behaves like
the scaled convolution ``y_t = sum_j beta_j Kt_j x_{t-j+1}`` whose weights ``beta_j^2`` decay
geometrically in j when ``sigma_w < 1``.

Modules: :mod:`~tnrnn.lenses.linear.theory` (lag weights, decay length; numpy only),
:mod:`~tnrnn.lenses.linear.model` (torch modules), :mod:`~tnrnn.lenses.linear.kernel` (empirical tangent
kernel with torch.func), :mod:`~tnrnn.lenses.linear.experiment` (side-by-side training),
:mod:`~tnrnn.lenses.linear.figures` (the three figures). Names load lazily: importing the package
does not import torch.

Examples
--------
>>> from tnrnn.lenses import linear
>>> linear.lag_weights(3, sigma_w=0.9)
array([2.    , 2.43  , 2.6244])
"""

from __future__ import annotations

from tnrnn._lazy import lazy_exports

#: Public name -> the module of this package that defines it (imported on first use).
_EXPORTS = {
    "lag_weights": "theory",
    "decay_length": "theory",
    "LinearRNN": "model",
    "ScaledConvolution": "model",
    "impulse_response": "model",
    "convolve": "model",
    "empirical_kernel": "kernel",
    "offdiag_ratio": "kernel",
    "kernel_comparison": "kernel",
    "kernel_sweep": "kernel",
    "KernelResult": "kernel",
    "default_target": "experiment",
    "synthetic_data": "experiment",
    "train_side_by_side": "experiment",
    "TrainingComparison": "experiment",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
