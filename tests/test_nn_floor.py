"""The proven floor: Eckart-Young for depth-1 RACs, and students that cannot pass it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from tnrnn.nn.floor import (
    _rac,
    all_sequences,
    clopper_pearson,
    eckart_young_floor,
    spread_teacher,
    start_end_matrix,
    train_student,
)
from tnrnn.nn.floor_trials import (
    Phase,
    RACEnsemble,
    TeacherTargets,
    floor_trials,
    load_teacher,
    run_strategy,
    strategies,
    trials_markdown,
    trials_table,
)

RESULTS = Path(__file__).resolve().parents[1] / "experiments" / "results"


def test_floor_is_the_best_truncation_error():
    matrix = torch.randn(9, 9, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    u, s, vh = torch.linalg.svd(matrix)
    for rank in (1, 3, 8):
        best = (u[:, :rank] * s[:rank]) @ vh[:rank]
        expected = float((matrix - best).pow(2).sum() / matrix.pow(2).sum())
        assert eckart_young_floor(matrix, rank) == pytest.approx(expected, rel=1e-10)
    assert eckart_young_floor(matrix, 9) == pytest.approx(0.0, abs=1e-15)


@pytest.mark.parametrize("width", [2, 3])
def test_a_depth1_rac_has_start_end_rank_at_most_its_width(width):
    with torch.no_grad():
        matrix = start_end_matrix(_rac(2, width, 1, seed=width), all_sequences(2, 8))
    sigma = torch.linalg.svdvals(matrix)
    assert int((sigma > 1e-10 * sigma[0]).sum()) <= width
    assert eckart_young_floor(matrix, width) < 1e-20
    # depth 2 at the same width exceeds it
    with torch.no_grad():
        deep = start_end_matrix(_rac(2, width, 2, seed=width), all_sequences(2, 8))
    assert eckart_young_floor(deep, width) > 1e-8


def test_a_shallow_student_stays_above_the_floor_of_a_spread_teacher():
    teacher, trace = spread_teacher(2, 3, 6, 2, steps=150, seed=1)
    assert trace[-1] > trace[0]  # spreading raised the floor
    with torch.no_grad():
        target = start_end_matrix(teacher, all_sequences(2, 6))
    floor = eckart_young_floor(target, 2)
    error, _ = train_student(target, 2, 6, 1, 2, seed=0, steps=150)
    assert error >= floor - 1e-9  # a theorem: a width-2 depth-1 RAC cannot pass it


def test_clopper_pearson_known_values():
    low, high = clopper_pearson(0, 20)
    assert low == 0.0 and high == pytest.approx(0.1684, abs=1e-4)
    low, high = clopper_pearson(10, 20)
    assert low == pytest.approx(0.2720, abs=1e-4) and high == pytest.approx(0.7280, abs=1e-4)


# --- training strategies against the floor (tnrnn.nn.floor_trials) ---------------------------------------------


def test_a_seeded_student_is_the_same_network_every_time():
    a, b = _rac(2, 4, 2, 11), _rac(2, 4, 2, 11)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))


@pytest.mark.parametrize("depth, hidden", [(1, 3), (2, 2)])
def test_the_ensemble_trains_each_student_as_train_student_does(depth, hidden):
    teacher = _rac(2, 2, 2, 5)
    targets = TeacherTargets(teacher)
    with torch.no_grad():
        target = start_end_matrix(teacher, all_sequences(2, 4))
    stacked = run_strategy(strategies(4, steps=60)["baseline"], targets, depth, hidden, [0, 1])["errors"]
    alone = [train_student(target, 2, 4, depth, hidden, seed=seed, steps=60)[0] for seed in (0, 1)]
    assert stacked == pytest.approx(alone, rel=1e-9)
    untrained = run_strategy(strategies(4, steps=1)["baseline"], targets, depth, hidden, [0, 1])["errors"]
    assert stacked[0] < 0.9 * untrained[0]  # it trained


def test_an_ensemble_member_round_trips_to_a_deep_rnn():
    ensemble = RACEnsemble.from_seeds(2, 3, 2, [4, 9])
    x = all_sequences(2, 4)
    assert torch.allclose(ensemble.member(1)(x)[:, :, 0], ensemble(x.argmax(-1))[1], rtol=1e-12)
    with pytest.raises(ValueError, match="share depth"):
        RACEnsemble([_rac(2, 3, 1, 0), _rac(2, 3, 2, 0)])


@pytest.mark.parametrize("name", ["baseline", "long", "lbfgs", "varpro", "curriculum", "distill-outputs",
                                  "distill-states"])
def test_every_strategy_runs_on_a_tiny_case_and_respects_the_floor(name):
    teacher, _ = spread_teacher(2, 3, 4, 1, steps=100, seed=2)
    targets = TeacherTargets(teacher)
    floor = targets.floor(4, 1)
    assert floor > 0.01  # the spread teacher leaves room below which a width-1 student cannot go
    strategy = strategies(4, steps=30)[name]
    for depth in strategy.depths:
        run = run_strategy(strategy, targets, depth, 1 if depth == 1 else 3, [0, 1, 2])
        assert len(run["errors"]) == 3 and all(math.isfinite(e) for e in run["errors"])
        assert run["wall_seconds"] > 0 and run["cpu_seconds"] >= 0
        if depth == 1:
            assert min(run["errors"]) >= floor * (1 - 1e-9)


def test_strategy_validation():
    with pytest.raises(ValueError, match="depths"):
        run_strategy(strategies(4, steps=5)["distill-states"], TeacherTargets(_rac(2, 2, 2, 0)), 1, 2, [0])
    with pytest.raises(ValueError, match="lstsq"):
        Phase(4, 10, loss="outputs", readout="lstsq")
    with pytest.raises(ValueError, match="unknown loss"):
        Phase(4, 10, loss="hidden")


def _fake_result(depth1_errors, floor=0.3):
    return {"length": 4, "symbols": 2, "seeds": len(depth1_errors), "steps": 1, "floor": floor, "near_zero": 1e-3,
            "students": {"1": {"hidden": 1}, "2": {"hidden": 3}}, "strategies": {},
            "runs": {"x": {"1": {"errors": depth1_errors, "evaluations": 1, "wall_seconds": 1.0, "cpu_seconds": 1.0},
                           "2": {"errors": [0.5, 1e-5], "evaluations": 1, "wall_seconds": 1.0, "cpu_seconds": 1.0}}}}


def test_the_table_refuses_a_depth1_student_below_the_floor():
    rows = trials_table(_fake_result([0.4, 0.3]))
    assert [(r["depth"], r["below_floor"], r["near_zero"]) for r in rows] == [(1, 0, 0), (2, 1, 1)]
    with pytest.raises(RuntimeError, match="depth-1 student reached 0.29 < the proven floor 0.3"):
        trials_table(_fake_result([0.4, 0.29]))


def test_trials_resume_keeps_stored_runs_and_refuses_other_settings():
    teacher = _rac(2, 2, 2, 3)
    first = floor_trials(teacher, 4, seeds=2, steps=5, names=["baseline"], shallow=1, progress=False)
    first["runs"]["baseline"]["1"]["errors"] = [0.123, 0.456]  # a stored run is kept, not recomputed
    again = floor_trials(teacher, 4, seeds=2, steps=5, names=["baseline", "varpro"], shallow=1, progress=False,
                         resume=first)
    assert again["runs"]["baseline"]["1"]["errors"] == [0.123, 0.456] and "varpro" in again["runs"]
    with pytest.raises(ValueError, match="cannot resume"):
        floor_trials(teacher, 4, seeds=3, steps=5, names=["baseline"], shallow=1, progress=False, resume=first)


def test_the_stored_teacher_reproduces_its_stored_floor():
    stored = json.loads((RESULTS / "floor.json").read_text())
    teacher, floor = load_teacher(stored, 8)
    with torch.no_grad():
        matrix = start_end_matrix(teacher, all_sequences(2, 8))
    assert eckart_young_floor(matrix, stored["students"]["1"]["hidden"]) == pytest.approx(floor, abs=1e-9)
    assert floor == pytest.approx(0.302, abs=5e-4)
    with pytest.raises(ValueError, match="no stored teacher"):
        load_teacher(stored, 12)


def test_the_committed_trials_table_comes_from_its_stored_runs():
    result = json.loads((RESULTS / "floor_trials.json").read_text())
    assert (RESULTS / "floor_trials.md").read_text() == trials_markdown(result)
    assert result["command"].startswith("python -m tnrnn.nn.floor_trials")
    assert result["seeds"] >= 20 and result["threads"] == 1
    stored = json.loads((RESULTS / "floor.json").read_text())["lengths"]["8"]["shallow_floor"]
    assert result["floor"] == pytest.approx(stored, abs=1e-9)
    for runs in result["runs"].values():
        for run in runs.values():
            assert len(run["errors"]) == result["seeds"]
