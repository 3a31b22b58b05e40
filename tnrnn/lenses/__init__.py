"""The two lenses from the same literature: forget-gate time scales and the short-memory bias of linear RNNs.

* :mod:`tnrnn.lenses.timescale`: forget gates as time scales and the gradient condition
  (K. Ohno & A. Kumagai, arXiv:2111.03282), measured on gated RNNs trained on the adding
  and copying tasks.
* :mod:`tnrnn.lenses.linear`: the implicit short-memory bias of wide linear RNNs
  (M. Emami, M. Sahraee-Ardakan, P. Pandit, S. Rangan, A. K. Fletcher, arXiv:2101.07833),
  a linear RNN trained beside its scaled convolution.

Both lenses are shaped alike. Each has the modules

* ``theory``: the formulas (numpy only);
* ``model``: the torch modules (timescale: the gated cells, gate variants and builders;
  linear: the linear RNN and its scaled convolution);
* ``experiment``: the training runs, through the package's one training loop :func:`tnrnn.nn.loop.run_steps`;
* ``figures``: the figures (matplotlib, imported on first plot);

plus one lens-specific module: ``timescale.diagnostics`` (gate time scales and gradient
profiles measured on a model) and ``linear.kernel`` (the empirical tangent kernel).

One import rule for both: a module imports torch at its top when it needs torch
(``model``, ``experiment``, ``diagnostics``, ``kernel``); ``theory`` and ``figures`` never
import torch. Each lens's ``__init__`` exports its public names lazily (a ``_EXPORTS`` map
and a module ``__getattr__``), so ``import tnrnn.lenses.timescale`` or
``import tnrnn.lenses.linear`` imports neither torch nor matplotlib; the first name read
loads its module.

Examples
--------
>>> from tnrnn.lenses import linear, timescale
>>> sorted(set(timescale.__all__) & set(linear.__all__))
[]
>>> round(float(linear.decay_length(0.9)), 3)
4.746
"""
