"""A proven floor beside trained points: Eckart–Young bounds for depth-1 RACs, and students that try to reach them.

A depth-1 Recurrent Arithmetic Circuit of width R has Start-End separation rank at most R
(Levine et al., arXiv:1710.09431): over all sequences of length T on M symbols, its output
arranged as the ``M^{T/2} × M^{T/2}`` matrix of (first half, second half) has rank ≤ R. By
the Eckart–Young theorem no such network can fit a target ``Y`` (on the uniform product
distribution of halves, that is, on all ``M^T`` sequences equally) with a relative squared
error below

    floor(R) = Σ_{i > R} σ_i(Y)² / Σ_i σ_i(Y)²,

the energy of the target's Start-End spectrum beyond its top R values. This module builds a
target with a floor worth testing (a depth-2 RAC teacher whose weights are optimised to spread
its spectrum: random teachers concentrate almost all their energy in a few values), computes
the floor for every shallow width exactly (float64 SVD of the full matrix), and trains depth-1
and depth-2 RAC students of matched parameter counts on the teacher's outputs over all
sequences (full batch), reporting how many land below the floor with a Clopper–Pearson interval.
A depth-1 student below its floor would contradict the theorem (a bug, not a result).

Run ``python -m tnrnn.nn.floor --out experiments/results/floor`` (T = 8, 20 seeds per depth:
about fifteen minutes on one shared core). :mod:`tnrnn.nn.floor_trials` tries other training
strategies on a stored teacher.

Examples
--------
>>> import torch
>>> y = torch.diag(torch.tensor([2.0, 1.0, 1.0], dtype=torch.float64))
>>> eckart_young_floor(y, 1)  # (1 + 1) / (4 + 1 + 1)
0.3333333333333333
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
from pathlib import Path

import torch

from tnrnn._files import atomic_write
from tnrnn.nn.budget import parameter_count
from tnrnn.nn.stack import DeepRNN

__all__ = ["all_sequences", "start_end_matrix", "eckart_young_floor", "spread_teacher", "train_student",
           "clopper_pearson", "floor_experiment"]


def all_sequences(symbols: int, length: int) -> torch.Tensor:
    """One-hot float64 ``(M^T, T, M)`` of every sequence, lexicographic (first half = row index).

    Examples
    --------
    >>> all_sequences(2, 2)[:, :, 1].tolist()
    [[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]
    """
    if symbols < 1 or length < 2 or length % 2:
        raise ValueError(f"need symbols >= 1 and an even length >= 2, got symbols={symbols}, length={length}")
    tokens = torch.tensor(list(itertools.product(range(symbols), repeat=length)))
    return torch.nn.functional.one_hot(tokens, symbols).double()


def start_end_matrix(model: DeepRNN, inputs: torch.Tensor) -> torch.Tensor:
    """The output at the last step on every sequence of ``inputs`` (:func:`all_sequences`), as the
    ``M^{T/2} × M^{T/2}`` Start-End matrix (differentiable)."""
    out = model(inputs)[:, -1, 0]
    side = int(round(math.sqrt(out.shape[0])))
    return out.reshape(side, side)


def eckart_young_floor(matrix: torch.Tensor, rank: int) -> float:
    """Smallest relative squared error ``‖Y - X‖² / ‖Y‖²`` of any ``X`` of rank ≤ ``rank``."""
    sigma = torch.linalg.svdvals(matrix.detach().double())
    energy = sigma.pow(2)
    return float(energy[rank:].sum() / energy.sum())


def _rac(symbols: int, hidden: int, depth: int, seed: int) -> DeepRNN:
    """A float64 RAC with one output, every weight drawn from ``seed``.

    ``DeepRNN``'s default readout comes from torch's global generator; it is redrawn here from
    the same distribution (``nn.Linear``'s, uniform in ±1/√R) with the seeded generator, so that
    a seed gives the same network in every process.

    Examples
    --------
    >>> bool(torch.equal(_rac(2, 3, 2, 7).readout.weight, _rac(2, 3, 2, 7).readout.weight))
    True
    """
    generator = torch.Generator().manual_seed(seed)
    net = DeepRNN("rac", symbols, 1, hidden=hidden, depth=depth, generator=generator).double()
    with torch.no_grad():
        net.readout.weight.uniform_(-1 / math.sqrt(hidden), 1 / math.sqrt(hidden), generator=generator)
    return net


def spread_teacher(symbols: int, hidden: int, length: int, student_width: int, *, steps: int = 1500,
                   lr: float = 0.02, seed: int = 0) -> tuple[DeepRNN, list[float]]:
    """A depth-2 RAC teacher whose Start-End spectrum carries energy beyond ``student_width`` values.

    Gradient ascent (Adam) on ``floor(student_width)`` of the teacher's own matrix at ``length``.
    Returns the teacher and the floor every 100 steps.
    """
    teacher = _rac(symbols, hidden, 2, seed)
    inputs = all_sequences(symbols, length)
    optimizer = torch.optim.Adam(teacher.parameters(), lr=lr)
    trace = []
    for step in range(steps):
        matrix = start_end_matrix(teacher, inputs)
        energy = torch.linalg.svdvals(matrix).pow(2)
        tail = energy[student_width:].sum() / energy.sum()
        optimizer.zero_grad()
        (-tail).backward()
        optimizer.step()
        if step % 100 == 0 or step == steps - 1:
            trace.append(float(tail.detach()))
    return teacher, trace


def train_student(target: torch.Tensor, symbols: int, length: int, depth: int, hidden: int, *, seed: int,
                  steps: int = 3000, lr: float = 0.01, start: DeepRNN | None = None,
                  normalize: bool = False) -> tuple[float, DeepRNN]:
    """Fit a RAC student to ``target`` (the teacher's Start-End matrix) on all sequences, full batch.

    Adam with the rate divided by 10 at 60% and 85% of ``steps``; the best relative error seen is
    returned (with the student, at its last weights). ``start`` continues a student (a curriculum).
    ``normalize`` fits ``target`` divided by its root mean square (the relative error, and so the
    floor, do not change; a student starting at outputs of order 1 need not grow them first).
    """
    if normalize:
        target = target / target.pow(2).mean().sqrt()
    student = start if start is not None else _rac(symbols, hidden, depth, 10_000 + seed)
    inputs = all_sequences(symbols, length)
    optimizer = torch.optim.Adam(student.parameters(), lr=lr)
    scale = float(target.pow(2).sum())
    best = math.inf
    for step in range(steps):
        if step in (int(0.6 * steps), int(0.85 * steps)):
            for group in optimizer.param_groups:
                group["lr"] /= 10
        error = (start_end_matrix(student, inputs) - target).pow(2).sum() / scale
        value = float(error.detach())
        if not math.isfinite(value):
            break
        best = min(best, value)
        optimizer.zero_grad()
        error.backward()
        optimizer.step()
    return best, student


def clopper_pearson(successes: int, trials: int, confidence: float = 0.95) -> tuple[float, float]:
    """Exact binomial interval of a proportion.

    Examples
    --------
    >>> clopper_pearson(0, 20)[1] < 0.17
    True
    """
    from scipy.stats import beta

    alpha = 1 - confidence
    low = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, trials - successes + 1))
    high = 1.0 if successes == trials else float(beta.ppf(1 - alpha / 2, successes + 1, trials - successes))
    return low, high


def floor_experiment(symbols: int = 2, teacher_hidden: int = 5, lengths=(8,), seeds: int = 20,
                     steps: int = 2000, teacher_steps: int = 1000, normalize: bool = False) -> dict:
    """Teacher, exact floors for every shallow width, depth-1 and depth-2 students; a JSON-ready dict.

    Students: depth 1 at the widest width within the teacher's parameter count, depth 2 at the
    teacher's own width (it can represent the teacher exactly). For the longest length a
    curriculum student also starts from the shorter length's trained weights (a RAC's weights
    do not depend on T). Each length has its own teacher, spread at that length.
    """
    teacher_parameters = parameter_count("rac", 2, teacher_hidden, symbols, 1)
    shallow = max(r for r in range(1, 64) if parameter_count("rac", 1, r, symbols, 1) <= teacher_parameters)
    result = {"symbols": symbols, "normalize": normalize, "steps": steps, "teacher_steps": teacher_steps,
              "teacher": {"depth": 2, "hidden": teacher_hidden,
                                              "parameters": teacher_parameters},
              "students": {"1": {"hidden": shallow, "parameters": parameter_count("rac", 1, shallow, symbols, 1)},
                           "2": {"hidden": teacher_hidden, "parameters": teacher_parameters}},
              "lengths": {}}
    previous = {}
    for length in lengths:  # one teacher per length, spread at that length
        teacher, trace = spread_teacher(symbols, teacher_hidden, length, shallow, steps=teacher_steps)
        with torch.no_grad():
            target = start_end_matrix(teacher, all_sequences(symbols, length))
        sigma = torch.linalg.svdvals(target)
        floors = {r: eckart_young_floor(target, r) for r in range(1, min(target.shape) + 1)}
        entry = {"matrix": list(target.shape), "spectrum": [float(s) for s in sigma],
                 "floor": {str(r): f for r, f in floors.items() if r <= 2 * shallow},
                 "shallow_floor": floors[shallow], "spread_trace": trace, "students": {},
                 # the spreading is chaotic (not reproducible bit for bit across processes): keep the teacher
                 "teacher_weights": {k: v.tolist() for k, v in teacher.state_dict().items()}}
        for depth in (1, 2):
            hidden = shallow if depth == 1 else teacher_hidden
            errors, trained = [], []
            for seed in range(seeds):
                error, student = train_student(target, symbols, length, depth, hidden, seed=seed, steps=steps,
                                               normalize=normalize)
                errors.append(error)
                trained.append(student)
            below = sum(e < floors[shallow] for e in errors)
            entry["students"][str(depth)] = {"errors": errors, "below_floor": below,
                                             "interval": clopper_pearson(below, seeds)}
            if length != lengths[0] and str(depth) in previous:
                curriculum = [train_student(target, symbols, length, depth, hidden, seed=seed, steps=steps,
                                            start=previous[str(depth)][seed], normalize=normalize)[0]
                              for seed in range(seeds)]
                below = sum(e < floors[shallow] for e in curriculum)
                entry["students"][f"{depth} (curriculum from T={lengths[0]})"] = {
                    "errors": curriculum, "below_floor": below, "interval": clopper_pearson(below, seeds)}
            previous[str(depth)] = trained
        result["lengths"][str(length)] = entry
    return result


def markdown(result: dict) -> str:
    """The experiment's table."""
    lines = [f"Teacher: depth-2 RAC, R = {result['teacher']['hidden']} ({result['teacher']['parameters']} "
             f"parameters), M = {result['symbols']} symbols. Students: depth 1 at R = "
             f"{result['students']['1']['hidden']} ({result['students']['1']['parameters']} parameters), depth 2 at "
             f"R = {result['students']['2']['hidden']} ({result['students']['2']['parameters']}).", "",
             "| T | proven floor (depth 1) | student | seeds | relative error: min / median / max "
             "| below the floor [95% Clopper–Pearson] |", "|---|---|---|---|---|---|"]
    for length, entry in result["lengths"].items():
        for name, found in entry["students"].items():
            errors = sorted(found["errors"])
            median = errors[len(errors) // 2]
            low, high = found["interval"]
            lines.append(f"| {length} | {entry['shallow_floor']:.3f} | depth {name} | {len(errors)} | "
                         f"{errors[0]:.3f} / {median:.3f} / {errors[-1]:.3f} | {found['below_floor']}/{len(errors)} "
                         f"[{low:.2f}, {high:.2f}] |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="the proven-floor experiment (depth-1 vs depth-2 RAC students)")
    parser.add_argument("--out", required=True, help="path prefix: writes PREFIX.json and PREFIX.md")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--lengths", type=int, nargs="+", default=[8])
    parser.add_argument("--normalize", action="store_true", help="fit the target divided by its RMS")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    result = floor_experiment(lengths=tuple(args.lengths), seeds=args.seeds, steps=args.steps,
                              normalize=args.normalize)

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(out.with_suffix(".json"), lambda tmp: Path(tmp).write_text(json.dumps(result, indent=1) + "\n"))
    atomic_write(out.with_suffix(".md"), lambda tmp: Path(tmp).write_text(markdown(result)))
    print(markdown(result))


if __name__ == "__main__":
    main()
