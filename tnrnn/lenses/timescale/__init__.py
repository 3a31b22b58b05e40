"""Forget gates as time scales and the gradient condition (K. Ohno & A. Kumagai, arXiv:2111.03282).

With a constant forget gate ``f`` an LSTM's memory of an input decays like ``f^k``:
its time scale is ``tau = -1/ln f``. Ohno & Kumagai (arXiv 2111.03282) argue that this
reading of the gate is valid when the gradient of the loss with respect to the cell
state decays exponentially going back in time, ``||dL/dc_{T-k}|| ~ exp(-k / tau)``
(the *gradient condition*), and that common RNNs satisfy it early in training. This
module measures both on any :class:`~tnrnn.lenses.timescale.model.GatedRNN` and task:

* :func:`gate_timescales`: the gate-implied time scales ``tau = -1/ln f`` over data,
  time and units (exact ``ln f`` from the pre-activations, so saturated gates give
  finite, correct time scales), summarised per unit and overall;
* :func:`gradient_profile`: ``||dL/dc_{T-k}||`` for every lag k with an exponential
  fit (:func:`fit_exponential`: rate, R^2 of the log-linear fit, implied time scale)
  and the verdict of :data:`CONDITION_RULE`;
* :class:`GradientConditionCallback`: the same tracked during training (the
  ``tnrnn.nn`` callback protocol ``callback(step, model, task) -> dict``);
* :func:`train_gated`, :func:`compare_gate_variants`, :func:`plot_timescale_comparison`:
  the experiment comparing forget-gate variants on the adding and copying tasks.

Nothing here reproduces that paper's own gate (we do not know its formula); the
gates compared are the published constructions of :mod:`tnrnn.lenses.timescale.model`.

Modules: :mod:`~tnrnn.lenses.timescale.theory` (time scales and the exponential fit; numpy
only), :mod:`~tnrnn.lenses.timescale.model` (the gated cells, gate variants and model builders;
torch modules),
:mod:`~tnrnn.lenses.timescale.diagnostics` (measurements on a model),
:mod:`~tnrnn.lenses.timescale.experiment` (the comparison of gate variants) and
:mod:`~tnrnn.lenses.timescale.figures`. Every name below is importable from ``tnrnn.lenses.timescale``;
names load lazily: importing the package does not import torch.

Examples
--------
>>> from tnrnn.lenses import timescale
>>> timescale.fit_exponential([1.0, 0.5, 0.25, 0.125]).timescale  # doctest: +ELLIPSIS
1.442695...
"""

from __future__ import annotations

from tnrnn._lazy import lazy_exports

#: Public name -> the module of this package that defines it (imported on first use).
_EXPORTS = {
    "CONDITION_RULE": "theory",
    "ExponentialFit": "theory",
    "TimescaleSummary": "theory",
    "fit_exponential": "theory",
    "timescale_summary": "theory",
    "DEFAULT_VARIANTS": "model",
    "GateVariant": "model",
    "as_traceable": "model",
    "build_gated_model": "model",
    "GradientConditionCallback": "diagnostics",
    "GradientProfile": "diagnostics",
    "TimescaleReport": "diagnostics",
    "diagnose": "diagnostics",
    "gate_timescales": "diagnostics",
    "gradient_profile": "diagnostics",
    "last_steps_loss": "diagnostics",
    "EXPERIMENT": "experiment",
    "compare_gate_variants": "experiment",
    "experiment_results_dir": "experiment",
    "load_comparison": "experiment",
    "summarize_comparison": "experiment",
    "timescale_experiment": "experiment",
    "train_gated": "experiment",
    "plot_timescale_comparison": "figures",
}

__all__ = sorted(_EXPORTS)


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
