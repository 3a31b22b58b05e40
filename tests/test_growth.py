"""Rank-vs-length series, the power-law fit and the figure."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tnrnn.tables.growth import fit_power_law, plot_rank_growth, rank_series


@settings(max_examples=30, deadline=None)
@given(st.floats(0.5, 6.0), st.floats(0.01, 100.0), st.lists(st.integers(2, 200), min_size=2, max_size=8, unique=True))
def test_fit_recovers_an_exact_power_law(exponent, prefactor, lengths):
    values = [prefactor * t**exponent for t in lengths]
    fit = fit_power_law(lengths, values)
    assert math.isclose(fit["exponent"], exponent, rel_tol=1e-6)
    assert math.isclose(fit["prefactor"], prefactor, rel_tol=1e-5)
    assert fit["max_abs_residual"] < 1e-8


def test_fit_residuals_are_log10_of_measured_over_fitted():
    fit = fit_power_law([2, 4, 8], [4, 10, 64])
    fitted = [fit["prefactor"] * t ** fit["exponent"] for t in (2, 4, 8)]
    assert np.allclose(fit["residuals"], np.log10(np.array([4, 10, 64]) / fitted))
    assert abs(sum(fit["residuals"])) < 1e-12  # least squares with an intercept: residuals sum to 0
    with pytest.raises(ValueError, match="at least 2 points"):
        fit_power_law([4], [8])


def test_series_matches_known_ranks_and_stops_at_a_refusal(tmp_path):
    rows = rank_series(2, 2, 3, [8, 6, 4])
    assert [r["length"] for r in rows] == [4, 6, 8] and [r["rank"] for r in rows] == [4, 8, 16]
    assert all(r["certified"] for r in rows)
    refused = rank_series(3, 3, 3, [6, 40, 60], max_bytes=2**20)
    assert refused[-1]["rank"] is None and "GiB" in refused[-1]["note"] and len(refused) <= 2
    fig = plot_rank_growth(rows + rank_series(2, 2, 1, [4, 6]), tmp_path / "growth.png",
                           fits={(2, 2, 3): fit_power_law([4, 6, 8], [4, 8, 16])})
    assert (tmp_path / "growth.png").stat().st_size > 1000
    assert len(fig.axes) == 1
