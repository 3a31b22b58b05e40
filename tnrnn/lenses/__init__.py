"""The two lenses from the same literature: forget-gate time scales and the short-memory bias of linear RNNs."""
