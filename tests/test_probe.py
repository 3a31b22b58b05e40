"""Probing: dense and sampled grid tensors of any sequence function, RAC models, callback."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pytest
import torch
from conftest import brute_force_output
from hypothesis import given
from hypothesis import strategies as st

from tnrnn.probe import (
    ProbeCallback,
    dense_matrix,
    model_function,
    probe,
    probe_model,
    rac_probe,
    sampled_matrix,
)
from tnrnn.rac.circuits import RACSpec, RACWeights, evaluate
from tnrnn.rac.partitions import parse_partition, start_end
from tnrnn.ranks.router import separation_rank


class OneHotTask:
    """The part of the task protocol the probe uses: one-hot ``encode`` and an alphabet."""

    def __init__(self, alphabet_size: int):
        self.alphabet_size = alphabet_size
        self.name = "toy"

    def encode(self, tokens):
        return torch.nn.functional.one_hot(tokens, self.alphabet_size).float()


class TorchRAC(torch.nn.Module):
    """A RAC module written for this test only, per the nn contract (no biases, W^H h_0 = 1)."""

    def __init__(self, weights: RACWeights, outputs: int = 2):
        super().__init__()
        self.w_in = torch.nn.ParameterList([torch.nn.Parameter(torch.tensor(w, dtype=torch.float32))
                                            for w in weights.input])
        self.w_hid = torch.nn.ParameterList([torch.nn.Parameter(torch.tensor(w, dtype=torch.float32))
                                             for w in weights.hidden])
        extra = np.random.default_rng(1).normal(size=(outputs - 1, weights.spec.hidden))
        self.w_out = torch.nn.Parameter(torch.tensor(np.vstack([weights.output, extra]), dtype=torch.float32))
        self.spec = weights.spec

    def forward(self, x):
        outs, states = [], [None] * len(self.w_in)
        for t in range(x.shape[1]):
            below = x[:, t]
            for layer in range(len(self.w_in)):
                drive = below @ self.w_in[layer].T
                states[layer] = drive if states[layer] is None else (states[layer] @ self.w_hid[layer].T) * drive
                below = states[layer]
            outs.append(below @ self.w_out.T)
        return torch.stack(outs, dim=1)

    def to_rac_weights(self, output_index: int = 0) -> RACWeights:
        def f64(p):
            return p.detach().double().numpy()
        return RACWeights(self.spec, tuple(f64(w) for w in self.w_in), tuple(f64(w) for w in self.w_hid),
                          f64(self.w_out)[output_index])


def rac_function(weights):
    return lambda tokens: evaluate(weights, tokens)


# --- dense and sampled matrices against brute force -----------------------------------


@pytest.mark.parametrize("partition", ["start-end", "cut:1", "interleaved", "S:0,3/E:1,2"])
def test_dense_matrix_matches_brute_force(partition):
    weights = RACWeights.gaussian(RACSpec(3, 2, 2), seed=4)
    part = parse_partition(partition, 4)
    matrix = dense_matrix(lambda t: np.array([brute_force_output(weights, s) for s in t]), part, [0, 1, 2])
    for seq in itertools.product(range(3), repeat=4):
        row = int(np.ravel_multi_index([seq[i] for i in part.start], (3,) * len(part.start)))
        col = int(np.ravel_multi_index([seq[i] for i in part.end], (3,) * len(part.end)))
        assert matrix[row, col] == pytest.approx(brute_force_output(weights, seq), rel=1e-12)


def test_dense_probe_of_rac_function_equals_exact_route():
    weights = RACWeights.gaussian(RACSpec(3, 3, 2), seed=0)
    for partition in ("start-end", "cut:2", "interleaved"):
        dense = probe(rac_function(weights), 6, partition, symbols=3)
        exact = separation_rank(weights, 6, partition)
        assert dense.rank == exact.rank
        np.testing.assert_allclose(dense.spectrum, exact.spectrum.values, rtol=1e-9, atol=1e-12)


@given(seed=st.integers(0, 10_000), rows=st.integers(1, 12), cols=st.integers(1, 12),
       depth=st.integers(1, 3))
def test_sampled_block_is_a_submatrix_and_a_lower_bound(seed, rows, cols, depth):
    weights = RACWeights.gaussian(RACSpec(2, 2, depth), seed=seed)
    part = start_end(6)
    full = dense_matrix(rac_function(weights), part, [0, 1])
    block, starts, ends = sampled_matrix(rac_function(weights), part, [0, 1], rows=rows, cols=cols,
                                         seed=seed)
    assert block.shape == (min(rows, 8), min(cols, 8))
    complete = rows >= 8 and cols >= 8
    # distinct assignments, and entry (i, j) is the dense entry of (starts[i], ends[j]): a submatrix
    row_index = [int(np.ravel_multi_index(a, (2, 2, 2))) for a in starts]
    col_index = [int(np.ravel_multi_index(a, (2, 2, 2))) for a in ends]
    assert len(set(row_index)) == len(row_index) and len(set(col_index)) == len(col_index)
    np.testing.assert_allclose(block, full[np.ix_(row_index, col_index)], rtol=1e-12)
    sampled = probe(rac_function(weights), 6, symbols=2, method="sampled", rows=rows, cols=cols,
                    seed=seed, tolerance=1e-9)
    dense = probe(rac_function(weights), 6, symbols=2, method="dense", tolerance=1e-9)
    assert sampled.rank <= dense.rank
    assert sampled.lower_bound_only == (not complete)


def test_sampled_block_with_all_assignments_has_the_dense_rank():
    weights = RACWeights.gaussian(RACSpec(3, 3, 2), seed=2)
    dense = probe(rac_function(weights), 4, symbols=3, method="dense")
    full = probe(rac_function(weights), 4, symbols=3, method="sampled", rows=9, cols=9)
    assert not full.lower_bound_only
    assert full.rank == dense.rank == 9
    np.testing.assert_allclose(full.spectrum, dense.spectrum, rtol=1e-10)


def test_sampled_probe_at_long_length_finds_known_rank():
    # y = [x_0 == x_{T-1}] has Start-End rank n whatever T: a sampled block sees all of it
    result = probe(lambda t: (t[:, 0] == t[:, -1]).astype(float), 60, symbols=4, rows=64, cols=64)
    assert result.method == "sampled" and result.rank == 4 and result.lower_bound_only


def test_probe_rejects_bad_input_before_evaluating():
    def never(tokens):
        raise AssertionError("evaluated")

    with pytest.raises(ValueError, match="even length"):
        probe(never, 5, symbols=2)
    with pytest.raises(ValueError, match="method"):
        probe(never, 4, symbols=2, method="svd")
    with pytest.raises(ValueError, match="outside the alphabet"):
        probe(never, 4, symbols=[0, 7], alphabet_size=5)
    with pytest.raises(ValueError, match="distinct"):
        probe(never, 4, symbols=[1, 1])
    with pytest.raises(ValueError, match="n\\^T"):
        dense_matrix(never, start_end(30), [0, 1, 2])
    with pytest.raises(ValueError, match="rows"):
        sampled_matrix(never, start_end(4), [0, 1], rows=0)


def test_probe_rejects_non_finite_outputs():
    with pytest.raises(ValueError, match="NaN"):
        probe(lambda t: np.full(len(t), np.nan), 2, symbols=2)


# --- torch models -----------------------------------------------------------------------


@pytest.mark.parametrize("depth", [1, 2, 3])
def test_probe_of_torch_rac_model_equals_exact_route(depth):
    model = TorchRAC(RACWeights.gaussian(RACSpec(3, 3, depth), seed=depth), outputs=2)
    task = OneHotTask(3)
    for output_index in (0, 1):
        for partition in ("start-end", "cut:1"):
            dense = probe_model(model, task, 4, partition, output_index=output_index)
            exact = rac_probe(model, 4, partition, output_index=output_index)
            assert dense.method == "dense" and exact.method == "rac-grid"
            assert dense.rank == exact.rank
            np.testing.assert_allclose(dense.spectrum, exact.spectrum, rtol=1e-8, atol=1e-12)
    # the exported weights are what separation_rank ranks
    assert exact.rank == separation_rank(model.to_rac_weights(1), 4, "cut:1").rank


def test_rac_probe_on_a_symbol_subset_equals_the_dense_probe():
    model = TorchRAC(RACWeights.gaussian(RACSpec(4, 3, 2), seed=7))
    task = OneHotTask(4)
    dense = probe_model(model, task, 4, symbols=[1, 3])
    exact = rac_probe(model, 4, symbols=[1, 3])
    assert dense.shape == exact.shape == (4, 4)
    np.testing.assert_allclose(dense.spectrum, exact.spectrum, rtol=1e-8)


def test_model_function_reads_the_chosen_step_and_leaves_the_model_alone():
    model = TorchRAC(RACWeights.gaussian(RACSpec(2, 2, 1), seed=0))
    task = OneHotTask(2)
    tokens = np.array([[0, 1, 1], [1, 0, 0]])
    with torch.no_grad():
        reference = model(task.encode(torch.as_tensor(tokens))).double()
    np.testing.assert_allclose(model_function(model, task, step=1, output_index=1)(tokens),
                               reference[:, 1, 1].numpy(), rtol=1e-5)
    assert model.w_in[0].dtype == torch.float32 and model.training


def test_probe_model_refuses_tasks_without_alphabet():
    task = OneHotTask(2)
    task.alphabet_size = None
    with pytest.raises(ValueError, match="alphabet"):
        probe_model(TorchRAC(RACWeights.gaussian(RACSpec(2, 2, 1), seed=0)), task, 4)


def test_rac_probe_refuses_non_rac_models():
    with pytest.raises(ValueError, match="not a RAC"):
        rac_probe(torch.nn.GRU(2, 2), 4)


def test_probe_callback_records_every_n_steps():
    model = TorchRAC(RACWeights.gaussian(RACSpec(3, 2, 2), seed=0))
    callback = ProbeCallback(every=100, length=4, symbols=3)
    lines = {step: callback(step, model, OneHotTask(3)) for step in (0, 50, 100, 150, 250)}
    assert [s for s, line in lines.items() if line is not None] == [0, 100, 250]
    assert lines[0]["probe_rank"] == rac_probe(model, 4).rank
    assert json.dumps(lines[100])  # merged into a JSON metrics line
    assert [step for step, _ in callback.history] == [0, 100, 250]
    with pytest.raises(ValueError, match="every"):
        ProbeCallback(every=0, length=4)


# --- trained networks of tnrnn.nn -----------------------------------------------------------


def test_probe_of_a_trained_rac_equals_its_exported_weights(tmp_path):
    from tnrnn.nn import TrainConfig, load_run, train

    config = TrainConfig(task="ses", length=4, cell="rac", depth=2, hidden=4, steps=6, eval_every=3,
                         batch_size=8, val_size=16)
    callback = ProbeCallback(every=3, length=4, symbols=[1, 2, 3], output_index=2)
    train(config, tmp_path, callbacks=[callback], progress=False)
    assert [step for step, _ in callback.history] == [3, 6]
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [line.get("probe_rank") for line in lines] == [r.rank for _, r in callback.history]
    model, config, task = load_run(tmp_path)
    for partition in ("start-end", "cut:1", "interleaved"):
        dense = probe_model(model, task, 4, partition, symbols=[1, 2, 3], output_index=2)
        exact = rac_probe(model, 4, partition, symbols=[1, 2, 3], output_index=2)
        assert dense.rank == exact.rank
        np.testing.assert_allclose(dense.spectrum, exact.spectrum, rtol=1e-7, atol=1e-10 * dense.spectrum[0])
        weights = model.to_rac_weights(output_index=2).with_templates(np.eye(task.input_size)[[1, 2, 3]])
        assert exact.rank == separation_rank(weights, 4, partition).rank
    # the last callback probe saw the final weights
    assert callback.history[-1][1].rank == probe_model(model, task, 4, symbols=[1, 2, 3], output_index=2).rank


def test_cli_probe_json(tmp_path, capsys):
    from tnrnn.cli import main
    from tnrnn.nn import TrainConfig, load_run, train

    train(TrainConfig(task="ses", length=4, cell="rac", depth=2, hidden=3, steps=2, eval_every=2,
                      batch_size=4, val_size=8), tmp_path, progress=False)
    assert main(["probe", str(tmp_path), "--length", "4", "--symbols", "1,2", "--output-index", "1",
                 "--partition", "cut:1", "--exact", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"spectrum", "rank", "tolerance", "effective_rank", "entropy", "method"} <= set(out)
    model, _, task = load_run(tmp_path)
    expected = probe_model(model, task, 4, "cut:1", symbols=[1, 2], output_index=1)
    assert out["rank"] == expected.rank and out["method"] == "dense" and out["shape"] == [2, 8]
    assert out["rac_route"]["rank"] == out["rank"] and out["rac_route"]["kind"] == out["kind"] == "float"
    assert "exact_route" not in out
    np.testing.assert_allclose(out["spectrum"], expected.spectrum)
    assert main(["probe", str(tmp_path), "--length", "5"]) == 2
    assert "even length" in capsys.readouterr().err
    assert main(["probe", str(tmp_path / "missing"), "--length", "4"]) == 2


@pytest.mark.parametrize("cell", ["tanh", "modrelu", "lstm", "gru"])
def test_probe_of_other_cells_dense_and_sampled(cell):
    from tnrnn.nn import TrainConfig, build_model

    config = TrainConfig(task="copying", length=2, cell=cell, depth=2, hidden=6, steps=1)
    task = config.make_task()
    model = build_model(config, task)
    dense = probe_model(model, task, 6, symbols=3, tolerance=1e-10)
    sampled = probe_model(model, task, 6, symbols=3, method="sampled", rows=10, cols=7, tolerance=1e-10)
    assert dense.shape == (27, 27) and sampled.shape == (10, 7)
    assert sampled.rank <= dense.rank
    assert 1 <= dense.effective_rank <= dense.rank


class _SESOracle(torch.nn.Module):
    """Outputs the indicator of class 2 (both aligned symbols equal) at the last step: the optimal predictor."""

    def __init__(self, task):
        super().__init__()
        self.task = task
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, x):
        tokens = x.argmax(-1)
        half = tokens.shape[1] // 2
        first, second = tokens[:, :half], tokens[:, half:]
        equal = ((first == second) & (first > 0)).sum(1)
        label = torch.round(2.0 * equal.double() / self.task.word_length)
        out = torch.zeros(x.shape[0], x.shape[1], 3, dtype=x.dtype)
        out[:, -1, 2] = (label == 2).to(x.dtype) * self.scale
        return out


def test_task_probe_of_the_optimal_predictor_returns_the_target_spectrum():
    from tnrnn.nn import make_task
    from tnrnn.probe import task_probe

    task = make_task("ses", 12, alphabet=3, word_length=2)  # 9 words: many exact matches
    result = task_probe(_SESOracle(task), task, pairs=40, seed=5, output_index=2)
    assert result.source == "task" and result.kind == "float"
    assert np.allclose(result.spectrum, result.target_spectrum, atol=1e-10)
    assert result.energy_ranks == result.target_energy_ranks
    assert result.tolerance_ranks == result.target_tolerance_ranks
    assert result.target_tolerance_ranks["0.001"] == 9  # one rank-1 block per word present in both halves
    assert result.approximation_error[0] == pytest.approx(1.0) and result.approximation_error[-1] < 1e-7


def test_task_probe_refuses_bad_input():
    from tnrnn.nn import DeepRNN, make_task
    from tnrnn.probe import task_probe

    net = DeepRNN("tanh", 10, 9, hidden=4, depth=1)
    with pytest.raises(ValueError, match="no task-data probe"):
        task_probe(net, make_task("copying", 5), pairs=4)
    ses = make_task("ses", 8, alphabet=4, word_length=2)
    with pytest.raises(ValueError, match="pairs must be"):
        task_probe(DeepRNN("tanh", 5, 3, 4, 1), ses, pairs=1)
    with pytest.raises(ValueError, match="output_index"):
        task_probe(DeepRNN("tanh", 5, 3, 4, 1), ses, pairs=4, output_index=3)


@given(values=st.lists(st.floats(0.0, 1e3), min_size=1, max_size=30))
def test_spectral_ranks_are_monotone_and_consistent(values):
    from tnrnn.probe import spectral_ranks

    sigma = sorted(values, reverse=True)
    out = spectral_ranks(sigma)
    tol = out["tolerance_ranks"]
    assert tol["0.1"] <= tol["0.01"] <= tol["0.001"] <= len(sigma)
    assert out["energy_ranks"]["0.9"] <= out["energy_ranks"]["0.99"] <= len(sigma)
    errors = out["approximation_error"]
    assert len(errors) == len(sigma) + 1 and all(a >= b - 1e-12 for a, b in zip(errors, errors[1:]))
    if sum(sigma) > 0:
        r = out["energy_ranks"]["0.99"]
        assert errors[r] ** 2 <= 0.01 + 1e-9 and (r == 0 or errors[r - 1] ** 2 > 0.01 - 1e-9)


def test_cli_probe_task_data(tmp_path, capsys):
    from tnrnn.cli import main
    from tnrnn.nn import TrainConfig, load_run, train
    from tnrnn.probe import task_probe

    train(TrainConfig(task="ses", length=8, word_length=2, alphabet=4, cell="rac", depth=2, hidden=3, steps=2,
                      eval_every=2, batch_size=4, val_size=8, test_size=8), tmp_path, progress=False)
    assert main(["probe", str(tmp_path), "--data", "task", "--pairs", "12", "--output-index", "2", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source"] == "task" and out["kind"] == "float"
    assert {"spectrum", "target_spectrum", "tolerance_ranks", "energy_ranks"} <= set(out)
    model, _, task = load_run(tmp_path)
    expected = task_probe(model, task, pairs=12, output_index=2)
    np.testing.assert_allclose(out["spectrum"], expected.spectrum)
    assert out["theory"]["lower"] <= out["theory"]["upper"] and out["theory"]["templates"] == 5
    assert main(["probe", str(tmp_path), "--data", "task", "--pairs", "12"]) == 0  # text
    assert "optimal predictor" in capsys.readouterr().out
    for bad, message in ((["--length", "6"], "run's own length T=8"), (["--tolerance", "1e-3"], "drop"),
                         (["--pairs", "1"], "pairs must be")):
        assert main(["probe", str(tmp_path), "--data", "task", *bad]) == 2
        assert message in capsys.readouterr().err
    for tolerance in ("-1", "nan", "0"):
        assert main(["probe", str(tmp_path), "--length", "4", "--tolerance", tolerance]) == 2
        assert "--tolerance" in capsys.readouterr().err
