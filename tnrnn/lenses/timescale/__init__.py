"""Forget gates as time scales and the gradient condition (K. Ohno & A. Kumagai, arXiv:2111.03282).

With a constant forget gate ``f`` an LSTM's memory of an input decays like ``f^k``:
its time scale is ``tau = -1/ln f``. Ohno & Kumagai (arXiv 2111.03282) argue that this
reading of the gate is valid when the gradient of the loss with respect to the cell
state decays exponentially going back in time, ``||dL/dc_{T-k}|| ~ exp(-k / tau)``
(the *gradient condition*), and that common RNNs satisfy it early in training. This
module measures both on any :class:`~tnrnn.lenses.timescale.gated.GatedRNN` and task:

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
gates compared are the published constructions of :mod:`tnrnn.lenses.timescale.gated`.

Modules: :mod:`~tnrnn.lenses.timescale.theory` (time scales and the exponential fit; numpy
only), :mod:`~tnrnn.lenses.timescale.model` (gate variants and model builders),
:mod:`~tnrnn.lenses.timescale.diagnostics` (measurements on a model),
:mod:`~tnrnn.lenses.timescale.experiment` (the comparison of gate variants) and
:mod:`~tnrnn.lenses.timescale.figures`. Every name is importable from ``tnrnn.lenses.timescale``;
torch loads on first use.
"""

from __future__ import annotations

from tnrnn.lenses.timescale.diagnostics import (
    GradientConditionCallback,
    GradientProfile,
    TimescaleReport,
    diagnose,
    gate_timescales,
    gradient_profile,
    last_steps_loss,
)
from tnrnn.lenses.timescale.experiment import (
    EXPERIMENT,
    compare_gate_variants,
    experiment_results_dir,
    load_comparison,
    summarize_comparison,
    timescale_experiment,
    train_gated,
)
from tnrnn.lenses.timescale.figures import (
    plot_timescale_comparison,
)
from tnrnn.lenses.timescale.model import (
    DEFAULT_VARIANTS,
    GateVariant,
    as_traceable,
    build_gated_model,
)
from tnrnn.lenses.timescale.theory import (
    CONDITION_RULE,
    ExponentialFit,
    TimescaleSummary,
    fit_exponential,
    timescale_summary,
)

__all__ = [
    "CONDITION_RULE",
    "TimescaleSummary",
    "ExponentialFit",
    "GradientProfile",
    "TimescaleReport",
    "as_traceable",
    "gate_timescales",
    "timescale_summary",
    "fit_exponential",
    "gradient_profile",
    "diagnose",
    "last_steps_loss",
    "GradientConditionCallback",
    "GateVariant",
    "DEFAULT_VARIANTS",
    "build_gated_model",
    "train_gated",
    "compare_gate_variants",
    "plot_timescale_comparison",
    "EXPERIMENT",
    "summarize_comparison",
    "experiment_results_dir",
    "load_comparison",
    "timescale_experiment",
]
