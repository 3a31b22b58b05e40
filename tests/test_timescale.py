import json
import math
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from tnrnn.cli import main
from tnrnn.lenses.timescale import (
    GateVariant,
    GradientConditionCallback,
    compare_gate_variants,
    diagnose,
    fit_exponential,
    gate_timescales,
    gradient_profile,
    load_comparison,
    plot_timescale_comparison,
    summarize_comparison,
    timescale_summary,
    train_gated,
)
from tnrnn.lenses.timescale.model import GatedRNN, forget_preactivation
from tnrnn.nn.tasks import make_task

ADDING = make_task("adding", 40)


def constant_gate_model(f: float, gate: str, *, depth: int = 1, hidden: int = 6, recurrent_scale: float = 0.0,
                        seed: int = 0) -> GatedRNN:
    """An LSTM whose top layer's forget gate is the constant f: its forget rows of W_ih and W_hh are zero.

    The top layer's W_hh is ``recurrent_scale`` times a random matrix on the i and g rows and zero on the f
    and o rows, so c_t reaches the future only through c_{t+1} (see test_perturbed_constant_gate_...).
    """
    torch.manual_seed(seed)
    model = GatedRNN(ADDING.input_size, hidden, ADDING.output_size, depth=depth, gate=gate, dtype=torch.float64)
    top = model.layers[-1]
    h = hidden
    with torch.no_grad():
        top.weight_hh.zero_()
        top.weight_hh[:h] = recurrent_scale * torch.randn(h, h, dtype=torch.float64)  # input gate rows
        top.weight_hh[2 * h:3 * h] = recurrent_scale * torch.randn(h, h, dtype=torch.float64)  # g rows
        top.weight_ih[h:2 * h] = 0.0
        top.bias_hh[h:2 * h] = 0.0
        s = torch.full((h,), math.log(f / (1 - f)), dtype=torch.float64)
        top.bias_ih[h:2 * h] = forget_preactivation(s, gate)
    return model


def adding_batch(batch=8, seed=0):
    return ADDING.sample(batch, torch.Generator().manual_seed(seed))


@settings(max_examples=10, deadline=None)
@given(f=st.floats(0.2, 0.995), gate=st.sampled_from(["sigmoid", "fast", "timescale"]), depth=st.sampled_from([1, 2]))
def test_constant_forget_gate_gives_rate_minus_log_f_exactly(f, gate, depth):
    # W_hh = 0 on the top layer and a loss on the last step only: c_t reaches the loss only through
    # c_{t+1} = f c_t + ..., so dL/dc_{T-k} = f^k dL/dc_T and the fit is exact up to rounding
    if gate == "timescale":
        f = max(f, 0.4)  # that gate has f >= 1/e
    model = constant_gate_model(f, gate, depth=depth)
    x, y = adding_batch(4)
    profile = gradient_profile(model, x, y, ADDING.loss)
    ratios = profile.norms[1:] / profile.norms[:-1]
    np.testing.assert_allclose(ratios, f, rtol=1e-9)
    assert abs(profile.fit.rate + math.log(f)) < 1e-9 * max(1, -math.log(f))
    assert profile.fit.r2 > 1 - 1e-9 and profile.fit.condition_holds
    assert abs(profile.fit.timescale - (-1 / math.log(f))) < 1e-6 * (-1 / math.log(f))
    # and the gate-implied time scale is the same number
    summary = gate_timescales(model, x)
    np.testing.assert_allclose([summary.min, summary.max], -1 / math.log(f), rtol=1e-9)


@pytest.mark.parametrize("f, scale", [(0.8, 0.02), (0.95, 0.005), (0.6, 0.02)])
def test_perturbed_constant_gate_rate_within_the_jacobian_bound(f, scale):
    # With W_hh nonzero on the i and g rows only, c_t still reaches the loss only through c_{t+1}, and
    #   dc_{t+1}/dc_t = f I + D_t,  D_t = [diag(g sigma'(a_i)) W_hi + diag(i tanh'(a_g)) W_hg] diag(o tanh'(c_t)),
    # so ||D_t|| <= delta = ||W_hi||/4 + ||W_hg|| (|sigma'| <= 1/4, |tanh'|, |g|, |i|, |o| <= 1). Every singular
    # value of the Jacobian is in [f - delta, f + delta], so every per-step ratio ||g_{t}|| / ||g_{t+1}|| is,
    # and the least-squares rate (a weighted mean of per-step log-ratios, fit_exponential Notes) lies in
    # [-ln(f + delta), -ln(f - delta)]: that is the tolerance.
    model = constant_gate_model(f, "sigmoid", hidden=8, recurrent_scale=scale, seed=1)
    top = model.layers[-1]
    w = top.weight_hh.detach()
    delta = float(torch.linalg.matrix_norm(w[:8], 2)) / 4 + float(torch.linalg.matrix_norm(w[16:24], 2))
    assert 0 < delta < f / 4  # a real perturbation, and f - delta > 0
    x, y = adding_batch(16)
    profile = gradient_profile(model, x, y, ADDING.loss)
    ratios = profile.norms[1:] / profile.norms[:-1]
    assert np.all(ratios >= f - delta - 1e-12) and np.all(ratios <= f + delta + 1e-12)
    assert -math.log(f + delta) <= profile.fit.rate <= -math.log(f - delta)
    assert profile.fit.condition_holds
    assert not np.allclose(ratios, f, rtol=1e-6)  # the perturbation is visible: not the exact case


def test_fit_exponential_on_known_profiles():
    k = np.arange(50)
    fit = fit_exponential(3.0 * np.exp(-0.07 * k))
    assert abs(fit.rate - 0.07) < 1e-12 and abs(fit.intercept - math.log(3)) < 1e-10 and fit.condition_holds
    assert fit.lags == (1, 49) and fit.points == 49
    # growing gradients: rate < 0, no condition
    assert not fit_exponential(np.exp(0.05 * k)).condition_holds
    # a power law decays but is not exponential over decades of lags: R^2 falls below 0.9 for a
    # profile dominated by a sharp early drop
    power = (k + 1.0) ** -3.0
    fit = fit_exponential(power, min_lag=0)
    assert fit.rate > 0 and fit.r2 < 0.9 and not fit.condition_holds
    # underflowed zeros are left out, with the range reported
    values = 0.5 ** k
    values[30:] = 0.0
    fit = fit_exponential(values)
    assert fit.points == 29 and fit.lags == (1, 29) and abs(fit.rate - math.log(2)) < 1e-12
    # too few points: no verdict
    fit = fit_exponential(np.array([1.0, 0.5, 0.0, 0.0]))
    assert math.isnan(fit.rate) and not fit.condition_holds
    assert fit.to_dict()["rate"] is None


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(-3.0, 3.0), min_size=3, max_size=40))
def test_fitted_rate_is_between_the_per_step_rates(log_ratios):
    norms = np.exp(-np.concatenate([[0.0], np.cumsum(log_ratios)]))
    fit = fit_exponential(norms, min_lag=0)
    assert min(log_ratios) - 1e-9 <= fit.rate <= max(log_ratios) + 1e-9
    assert fit.r2 <= 1 + 1e-12


@pytest.mark.parametrize("kwargs, message", [
    ({"min_lag": 5, "max_lag": 3}, "lag range"),
    ({"max_lag": 10}, "lag range"),
    ({"r2_threshold": 1.5}, "r2_threshold must be in [0, 1]"),
])
def test_fit_exponential_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
        fit_exponential(np.ones(10), **kwargs)
    with pytest.raises(ValueError, match="non-negative"):
        fit_exponential([1.0, -1.0, 2.0])


def test_timescale_summary_matches_numpy():
    rng = np.random.default_rng(0)
    f = rng.uniform(0.1, 0.999, size=(3, 5, 4))
    s = timescale_summary(np.log(f), horizon=20)
    tau = np.sort(-1 / np.log(f).reshape(-1))
    # order statistics: the q-quantile is the ceil(q n)-th smallest value
    assert s.count == 60 and s.median == tau[29] and s.q90 == tau[53] and s.q10 == tau[5]
    per_unit = np.sort(-1 / np.log(f).reshape(-1, 4), axis=0)[7]  # 15 values per unit: the 8th
    np.testing.assert_array_equal(s.per_unit, per_unit)
    assert s.fraction_above == np.mean(tau > 20) and abs(s.geometric_mean - np.exp(np.log(tau).mean())) < 1e-9
    assert s.fraction_infinite == 0
    json.dumps(s.to_dict())
    with pytest.raises(ValueError, match="must be <= 0"):
        timescale_summary(np.full((1, 1, 1), 0.1))


def test_timescales_beyond_float_range_are_infinite_without_a_warning():
    log_f = np.log(np.full((1, 2, 3), 0.5))
    log_f[0, 0, 0] = -1e-310  # subnormal: -1 / log_f overflows
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = timescale_summary(log_f, horizon=10)
    assert s.max == np.inf and s.fraction_infinite == pytest.approx(1 / 6)


def test_saturated_gates_have_infinite_timescales_and_valid_json():
    # a fast gate sigmoid(sinh a) is exactly 1 in float64 for a > 7.3: tau = inf, counted, not nan
    log_f = np.log(np.full((2, 3, 4), 0.5))
    log_f[:, :, 0] = 0.0
    s = timescale_summary(log_f, horizon=10)
    assert s.fraction_infinite == 0.25 and s.max == np.inf and s.fraction_above == 0.25
    assert s.median == pytest.approx(1 / np.log(2)) and np.isinf(s.per_unit[0])
    d = json.loads(json.dumps(s.to_dict(), allow_nan=False))
    assert d["max"] is None and d["per_unit"][0] is None and d["median"] == pytest.approx(1 / np.log(2))
    model = GatedRNN(2, 3, 1, gate="fast")
    with torch.no_grad():
        model.layers[0].bias_ih[3:6] = 50.0
        model.layers[0].weight_ih[3:6] = 0.0
        model.layers[0].weight_hh[3:6] = 0.0
    report = diagnose(model, ADDING, batch_size=2)
    assert report.timescales.fraction_infinite == 1.0
    json.dumps(report.to_dict(), allow_nan=False)


def test_diagnostics_leave_the_model_untouched_and_reject_untraceable_models():
    model = GatedRNN(2, 4, 1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    report = diagnose(model, ADDING, batch_size=4)
    assert all(p.grad is None for p in model.parameters())
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    assert next(model.parameters()).dtype == torch.float32
    assert len(report.to_dict()["gradient_norms"]) == ADDING.sequence_length
    with pytest.raises(ValueError, match="must expose trace"):
        diagnose(torch.nn.Linear(2, 1), ADDING, batch_size=2)


def test_callback_protocol_during_training():
    torch.manual_seed(0)
    model = GatedRNN(ADDING.input_size, 8, ADDING.output_size, gate="fast")
    callback = GradientConditionCallback(batch_size=4)
    summary = train_gated(model, ADDING, steps=6, batch_size=8, eval_every=3, callbacks=[callback], progress=False)
    assert [line["step"] for line in summary["history"]] == [0, 3, 6]
    assert [step for step, _ in callback.history] == [0, 3, 6]
    for line in summary["history"]:
        assert {"loss", "fit_rate", "fit_r2", "condition_holds", "tau_median"} <= set(line)
        assert isinstance(line["condition_holds"], bool)
    # the callback's numbers are those of diagnose on its fixed batch
    again = diagnose(model, ADDING, batch_size=4, seed=callback.seed)
    assert summary["history"][-1]["fit_rate"] == pytest.approx(again.profile.fit.rate, rel=1e-9)
    with pytest.raises(ValueError, match="steps must be a positive integer"):
        train_gated(model, ADDING, steps=0)


def test_compare_resumes_and_plots(tmp_path, monkeypatch):
    variants = [GateVariant("a", "sigmoid", "constant"), GateVariant("b", "timescale", "chrono")]
    specs = [{"name": "adding", "length": 12}]
    records = compare_gate_variants(specs, tmp_path, variants=variants, hidden=4, steps=2, eval_every=1,
                                    diag_batch=4, batch_size=4, progress=False)
    assert [r["variant"] for r in records] == ["a", "b"]
    lines = (tmp_path / "results.jsonl").read_text().splitlines()
    assert len(lines) == 2 and json.loads(lines[1])["gate"] == "timescale"
    assert len(records[0]["timescales_final"]["per_unit"]) == 4

    def fail(*args, **kwargs):
        raise AssertionError("finished runs must not be retrained")

    monkeypatch.setattr("tnrnn.lenses.timescale.experiment.train_gated", fail)
    again = compare_gate_variants(specs, tmp_path, variants=variants, hidden=4, steps=2, progress=False)
    assert [r["variant"] for r in again] == ["a", "b"]
    rows = summarize_comparison(load_comparison(tmp_path))
    assert [r["variant"] for r in rows] == ["a", "b"] and rows[0]["T"] == 12
    assert rows[0]["condition_early"] in (0.0, 0.5, 1.0) and rows[0]["final_loss"] == again[0]["final_loss"]
    with pytest.raises(ValueError, match="no results.jsonl"):
        load_comparison(tmp_path / "nothing")
    paths = plot_timescale_comparison(again, tmp_path / "fig")
    assert len(paths) == 3 and all(p.exists() and p.stat().st_size > 1000 for p in paths)


def test_cli_json_contract(capsys):
    assert main(["timescale", "--cell", "lstm", "--init", "chrono", "--gate", "fast", "--task", "adding",
                 "--length", "30", "--tmax", "30", "--hidden", "8", "--diag-batch", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"gate_timescales", "gradient_norms", "fit_rate", "fit_r2", "condition_holds"} <= set(out)
    assert {"min", "q10", "median", "q90", "max", "geometric_mean"} <= set(out["gate_timescales"])
    assert len(out["gradient_norms"]) == 30 and isinstance(out["condition_holds"], bool)
    refit = fit_exponential(out["gradient_norms"])  # the printed fit is the fit of the printed norms
    assert out["fit_rate"] == pytest.approx(refit.rate, rel=1e-9) and out["fit_r2"] == pytest.approx(refit.r2)
    assert out["condition_holds"] == refit.condition_holds


def test_cli_trains_and_tracks(capsys):
    assert main(["timescale", "--init", "constant", "--forget-bias", "2", "--gate", "timescale", "--cell", "gru",
                 "--length", "16", "--hidden", "6", "--steps", "4", "--eval-every", "2", "--diag-batch", "4",
                 "--batch-size", "8", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert [line["step"] for line in out["training"]["history"]] == [0, 2, 4]
    assert out["training"]["baseline_loss"] == pytest.approx(1 / 6)


def test_cli_table(capsys):
    assert main(["timescale", "--length", "20", "--hidden", "4", "--diag-batch", "4"]) == 0
    text = capsys.readouterr().out
    assert "gradient condition" in text and "exponential fit over lags 1..19" in text


@pytest.mark.parametrize("args, message", [
    (["--length", "20", "--tmax", "1", "--init", "chrono"], "--tmax must be > 2, got 1"),
    (["--length", "1"], "must be an integer >= 2, got 1"),
    (["--length", "20", "--hidden", "0"], "argument --hidden/-R: must be a positive integer, got '0'"),
    (["--length", "20", "--layer", "3"], "--layer must be in [-1, 0], got 3"),
    (["--length", "20", "--max-lag", "40"], "--max-lag must be in"),
    (["--length", "20", "--loss-steps", "21"], "--loss-steps must be in [1, 20], got 21"),
])
def test_cli_bad_input(args, message):
    proc = subprocess.run([sys.executable, "-m", "tnrnn.cli", "timescale", *args], capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert message in proc.stderr and "Traceback" not in proc.stderr


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_callback_works_with_tnrnn_nn_train(tmp_path, cell):
    # tnrnn.nn's LSTM/GRU models (a torch.nn.LSTM/GRU inside) are converted to visible-gate copies
    from tnrnn.nn import TrainConfig, train

    config = TrainConfig(task="adding", length=12, cell=cell, depth=2, hidden=4, steps=4, eval_every=2,
                         batch_size=8, val_size=16)
    callback = GradientConditionCallback(batch_size=4)
    train(config, tmp_path, callbacks=[callback], progress=False)
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert lines and all({"fit_rate", "fit_r2", "condition_holds", "tau_median"} <= set(line) for line in lines)
    assert len(callback.history) == len(lines)


def test_cli_experiment_runs_the_entry_point_and_summarizes(tmp_path, monkeypatch, capsys):
    import tnrnn.lenses.timescale as ts

    tiny = {"tasks": ({"name": "copying", "length": 2},), "steps": {"copying": 1}, "hidden": 3}
    monkeypatch.setitem(ts.EXPERIMENT, True, tiny)
    monkeypatch.chdir(tmp_path)
    assert main(["timescale", "--experiment", "--quick", "--out", "fig", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert sorted(Path(p).name for p in out["figures"]) == sorted(
        f"timescale_copying_2_{kind}.png" for kind in ("loss", "hist", "condition"))
    assert all((tmp_path / p).exists() for p in out["figures"])
    assert [row["variant"] for row in out["runs"]] == [v.name for v in ts.DEFAULT_VARIANTS]
    # the runs go inside --out (nothing is written outside it)
    assert (tmp_path / "fig" / "runs" / "timescale_quick" / "seed0" / "results.jsonl").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["fig"]


def test_last_steps_loss_restricts_the_loss_and_changes_the_profile():
    from tnrnn.lenses.timescale import last_steps_loss

    copying = make_task("copying", 6)
    x, y = copying.sample(4, torch.Generator().manual_seed(0))
    out = torch.randn(4, copying.sequence_length, copying.output_size)
    expected = torch.nn.functional.cross_entropy(out[:, -10:].reshape(-1, out.shape[-1]), y[:, -10:].reshape(-1))
    assert float(last_steps_loss(copying, 10)(out, y)) == pytest.approx(float(expected))
    xa, ya = adding_batch(4)
    outa = torch.randn(4, ADDING.sequence_length, 1)
    assert float(last_steps_loss(ADDING, 3)(outa, ya)) == pytest.approx(float(ADDING.loss(outa, ya)))
    with pytest.raises(ValueError, match="loss_steps must be an integer in"):
        last_steps_loss(copying, 0)
    # the recall-window profile is a different object from the whole-loss profile
    torch.manual_seed(0)
    model = GatedRNN(copying.input_size, 5, copying.output_size)
    whole = diagnose(model, copying, batch_size=4).profile.norms
    recall = diagnose(model, copying, batch_size=4, loss_steps=10).profile.norms
    assert not np.allclose(whole, recall)
