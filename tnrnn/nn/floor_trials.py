"""Can trained students reach the proven floor? Training strategies tried on one fixed teacher.

:mod:`tnrnn.nn.floor` puts a proven floor (Eckart–Young) beside depth-1 and depth-2 RAC students
trained on a depth-2 teacher, and finds both stopping far above it. This module asks whether
training was the limit: on the *same* teacher (loaded from a stored result, so the target and
the floor are identical in every trial) it trains students with several strategies, each a
documented variant of the baseline, and tabulates per strategy and depth the relative error
(min / median / max over seeds), how many students land below the depth-1 floor, how many reach
near-zero error, and the wall and CPU time spent.

Strategies (:func:`strategies`; ``S`` is the baseline's number of Adam steps):

``baseline``
    Adam at 0.01 on the final-step relative error, rate ÷10 at 60% and 85% of ``S`` steps
    (exactly :func:`tnrnn.nn.floor.train_student`).
``long``
    The same schedule shape over 10 ``S`` steps.
``lbfgs``
    Full-batch L-BFGS with strong-Wolfe line search in float64, from the same initial weights,
    with a budget of ``S`` loss-and-gradient evaluations (the baseline's compute).
``varpro``
    The baseline, with the readout (in which the output is linear) solved by least squares before
    every step, so that Adam moves only the recurrent weights (variable projection).
``curriculum``
    Adam on the teacher's own outputs at ``T/2``, then at each longer even length up to ``T``
    (a RAC's weights do not depend on T), ``S`` steps each, the last phase on the final target.
``distill-outputs``
    Adam on the teacher's outputs at *every* step (each step's relative error, averaged), ``S``
    steps, then ``S`` steps on the final-step target.
``distill-states`` (depth 2 only)
    The same, matching the teacher's hidden states of every layer and step as well: privileged
    information (the student has the teacher's architecture, so its states can match exactly).

Every reported error is the smallest final-step relative error seen in the last phase at weights
the optimiser actually evaluated, so it is attained by a real network of that depth; a depth-1
error below the floor would contradict the theorem, and :func:`trials_table` refuses one.

Many students train at once: :class:`RACEnsemble` stacks the weights of S students of one
architecture, and since Adam is elementwise and each student's loss depends only on its own
slice, one Adam step on the summed loss is S independent Adam steps (the tests check it against
:func:`tnrnn.nn.floor.train_student`). L-BFGS couples parameters through its line search, so it
runs one student at a time.

Run ``python -m tnrnn.nn.floor_trials --teacher experiments/results/floor.json --out
experiments/results/floor_trials`` (one thread).

Examples
--------
>>> sorted(strategies(8))
['baseline', 'curriculum', 'distill-outputs', 'distill-states', 'lbfgs', 'long', 'varpro']
>>> [p.length for p in strategies(8)["curriculum"].phases]
[4, 6, 8]
"""

from __future__ import annotations

import argparse
import json
import math
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from tnrnn._files import atomic_write
from tnrnn.nn.floor import _rac, all_sequences, clopper_pearson, eckart_young_floor
from tnrnn.nn.recurrence import recurrence
from tnrnn.nn.stack import DeepRNN

__all__ = ["RACEnsemble", "Phase", "Strategy", "strategies", "load_teacher", "TeacherTargets", "run_strategy",
           "floor_trials", "trials_table", "trials_markdown", "plot_trials", "NEAR_ZERO"]

#: A depth-2 student with a relative error below this counts as having (nearly) recovered the teacher.
NEAR_ZERO = 1e-3


class RACEnsemble(torch.nn.Module):
    """S RAC students of one architecture with stacked weights: one forward pass computes all of them.

    Parameters
    ----------
    members : sequence of DeepRNN
        RACs (``cell="rac"``) of one depth, width, input size and a single output.

    Attributes
    ----------
    inputs, recurrent : ParameterList
        ``W^{I,l}`` ``(S, R, fan_in)`` and ``W^{H,l}`` ``(S, R, R)`` of every layer l.
    readout : Parameter
        ``(S, R)``.

    Examples
    --------
    >>> nets = [_rac(2, 3, 2, seed) for seed in (1, 2)]
    >>> ensemble = RACEnsemble(nets)
    >>> x = all_sequences(2, 4)
    >>> y = ensemble(x.argmax(-1))
    >>> y.shape
    torch.Size([2, 16, 4])
    >>> bool(torch.allclose(y[1], nets[1](x)[:, :, 0]))
    True
    """

    def __init__(self, members: Sequence[DeepRNN]) -> None:
        super().__init__()
        if not members or any(m.cell != "rac" or m.output_size != 1 for m in members):
            raise ValueError("RACEnsemble needs at least one RAC (cell='rac') with a single output")
        shapes = {(m.depth, m.hidden, m.input_size) for m in members}
        if len(shapes) != 1:
            raise ValueError(f"members must share depth, width and input size, got {sorted(shapes)}")
        self.depth, self.hidden, self.symbols = shapes.pop()

        def stack(get) -> torch.nn.Parameter:
            return torch.nn.Parameter(torch.stack([get(m).detach().clone() for m in members]))

        self.inputs = torch.nn.ParameterList(stack(lambda m, i=i: m.layers[i].input.weight) for i in range(self.depth))
        self.recurrent = torch.nn.ParameterList(stack(lambda m, i=i: m.layers[i].recurrent.weight)
                                                for i in range(self.depth))
        self.readout = stack(lambda m: m.readout.weight[0])

    @classmethod
    def from_seeds(cls, symbols: int, hidden: int, depth: int, seeds: Sequence[int]) -> RACEnsemble:
        """Students initialised exactly as :func:`tnrnn.nn.floor.train_student` initialises seed ``s``."""
        return cls([_rac(symbols, hidden, depth, 10_000 + seed) for seed in seeds])

    def __len__(self) -> int:
        return self.readout.shape[0]

    def states(self, tokens: torch.Tensor) -> list[torch.Tensor]:
        """The states ``(T, S, B, R)`` of every layer on ``tokens`` ``(B, T)`` (symbol indices).

        The convention of :class:`tnrnn.nn.cells.RACLayer`: ``W^H h_0 = 1``, so ``h_1 = W^I x_1``.
        """
        drive = self.inputs[0].transpose(1, 2)[:, tokens.T]  # (S, T, B, R): a gather, not a product
        layers = []
        for index in range(self.depth):
            if index:
                drive = torch.matmul(layers[-1], self.inputs[index].transpose(1, 2).unsqueeze(1))
            # the fused recurrence with a member axis: (S, T, B, R) in and out
            layers.append(recurrence("rac", drive, self.recurrent[index]))
        return [states.transpose(0, 1) for states in layers]

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """Per-step outputs ``(S, B, T)`` on ``tokens`` ``(B, T)``."""
        top = self.states(tokens)[-1]
        return torch.einsum("tsbr,sr->sbt", top, self.readout)

    def member(self, index: int) -> DeepRNN:
        """Student ``index`` as a :class:`~tnrnn.nn.stack.DeepRNN` (a copy)."""
        net = _rac(self.symbols, self.hidden, self.depth, 0).to(self.readout.dtype)
        with torch.no_grad():
            for i, layer in enumerate(net.layers):
                layer.input.weight.copy_(self.inputs[i][index])
                layer.recurrent.weight.copy_(self.recurrent[i][index])
            net.readout.weight.copy_(self.readout[index][None])
        return net

    def subset(self, indices: Sequence[int]) -> RACEnsemble:
        """A new ensemble of copies of the students ``indices``."""
        return RACEnsemble([self.member(i) for i in indices])


@dataclass(frozen=True)
class Phase:
    """One stage of training: Adam (or L-BFGS) on one loss at one sequence length.

    Parameters
    ----------
    length : int
        T of the sequences trained on (all ``M^T`` of them, full batch).
    steps : int
        Adam steps, or loss-and-gradient evaluations for L-BFGS.
    loss : {"final", "outputs", "states"}
        ``final``: relative error of the last step's output (the Start-End target);
        ``outputs``: mean over steps of each step's relative output error;
        ``states``: that, plus the mean relative error of every layer's state at every step
        (needs the teacher's architecture).
    lr : float
        Adam's initial rate (÷10 at 60% and 85% of ``steps``); ignored by L-BFGS (rate 1).
    readout : {"train", "lstsq"}
        ``train``: the readout is a parameter like the others; ``lstsq``: before every step it is
        set to its least-squares optimum for the current states (variable projection: the output
        is linear in the readout), and Adam moves only the recurrent weights (``final`` loss only).
    """

    length: int
    steps: int
    loss: str = "final"
    lr: float = 0.01
    readout: str = "train"

    def __post_init__(self) -> None:
        if self.loss not in ("final", "outputs", "states"):
            raise ValueError(f"unknown loss {self.loss!r}; valid: final, outputs, states")
        if self.readout not in ("train", "lstsq") or (self.readout == "lstsq" and self.loss != "final"):
            raise ValueError(f"readout must be 'train', or 'lstsq' with the final loss; got {self.readout!r}, "
                             f"{self.loss!r}")
        if self.steps < 1 or self.length < 2 or self.length % 2:
            raise ValueError(f"need steps >= 1 and an even length >= 2, got {self.steps}, {self.length}")


@dataclass(frozen=True)
class Strategy:
    """A named training recipe: phases run in order, the last on the final-step target at full T.

    ``optimizer`` is ``"adam"`` (all students at once) or ``"lbfgs"`` (float64, strong Wolfe,
    one student at a time). ``depths`` lists the student depths it applies to.
    """

    name: str
    description: str
    phases: tuple[Phase, ...]
    optimizer: str = "adam"
    depths: tuple[int, ...] = (1, 2)

    def __post_init__(self) -> None:
        if self.optimizer not in ("adam", "lbfgs"):
            raise ValueError(f"unknown optimizer {self.optimizer!r}; valid: adam, lbfgs")
        if not self.phases or self.phases[-1].loss != "final":
            raise ValueError(f"strategy {self.name!r}: the last phase must fit the final-step target")

    @property
    def evaluations(self) -> int:
        """Loss-and-gradient evaluations per student (Adam steps, or the L-BFGS budget)."""
        return sum(p.steps for p in self.phases)


def strategies(length: int, steps: int = 2000) -> dict[str, Strategy]:
    """The strategies tried, for target length ``length`` and a baseline of ``steps`` Adam steps.

    Examples
    --------
    >>> s = strategies(8, steps=100)
    >>> s["long"].evaluations, s["lbfgs"].evaluations, s["distill-outputs"].evaluations, s["curriculum"].evaluations
    (1000, 100, 200, 300)
    """
    shorter = list(range(max(2, length // 2 + (length // 2) % 2), length, 2))
    final = Phase(length, steps)
    found = [
        Strategy("baseline", f"Adam 0.01, ÷10 at 60% and 85% of {steps} steps", (final,)),
        Strategy("lbfgs", f"L-BFGS, strong-Wolfe line search, history 50, float64, at most {steps} loss-and-gradient "
                 "evaluations", (Phase(length, steps),), optimizer="lbfgs"),
        Strategy("varpro", "the baseline schedule with the readout solved by least squares before every step "
                 "(variable projection)", (Phase(length, steps, readout="lstsq"),)),
        Strategy("curriculum", f"{steps} steps at each of T = " + ", ".join(str(t) for t in shorter)
                 + f" on the teacher's final outputs at that length, then {steps} at T = {length}",
                 tuple(Phase(t, steps) for t in shorter) + (final,)),
        Strategy("distill-outputs", f"{steps} steps on the teacher's output at every step, then {steps} on the "
                 "final step", (Phase(length, steps, "outputs"), final)),
        Strategy("distill-states", f"{steps} steps on the teacher's outputs and hidden states at every step "
                 f"(privileged), then {steps} on the final step", (Phase(length, steps, "states"), final),
                 depths=(2,)),
        Strategy("long", f"the baseline's schedule shape over {10 * steps} steps", (Phase(length, 10 * steps),)),
    ]
    return {s.name: s for s in found}


def load_teacher(source: str | Path | dict, length: int = 8) -> tuple[DeepRNN, float]:
    """The stored teacher of a :func:`tnrnn.nn.floor.floor_experiment` result, and its stored floor.

    ``source`` is the JSON file (or its parsed dict); ``length`` picks the entry (each length
    has its own teacher).

    Examples
    --------
    >>> net = _rac(2, 2, 2, 0)
    >>> weights = {k: v.tolist() for k, v in net.state_dict().items()}
    >>> stored = {"symbols": 2, "teacher": {"depth": 2, "hidden": 2},
    ...           "lengths": {"4": {"shallow_floor": 0.1, "teacher_weights": weights}}}
    >>> teacher, floor = load_teacher(stored, 4)
    >>> bool(torch.equal(teacher.readout.weight, net.readout.weight)), floor
    (True, 0.1)
    """
    result = json.loads(Path(source).read_text()) if not isinstance(source, dict) else source
    entry = result["lengths"].get(str(length))
    if entry is None or "teacher_weights" not in entry:
        raise ValueError(f"no stored teacher at length {length}; stored lengths: {sorted(result['lengths'])}")
    teacher = _rac(result["symbols"], result["teacher"]["hidden"], result["teacher"]["depth"], 0)
    teacher.load_state_dict({k: torch.tensor(v, dtype=torch.float64) for k, v in entry["teacher_weights"].items()})
    return teacher, float(entry["shallow_floor"])


@dataclass
class TeacherTargets:
    """The teacher's outputs (and states) on every sequence, per length, computed once.

    Parameters
    ----------
    teacher : DeepRNN
        A RAC teacher (float64).
    """

    teacher: DeepRNN
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self._ensemble = RACEnsemble([self.teacher])

    @property
    def symbols(self) -> int:
        return self.teacher.input_size

    def at(self, length: int) -> dict[str, torch.Tensor]:
        """``tokens`` ``(B, T)``, per-step ``outputs`` ``(B, T)`` and ``states`` (one ``(T, B, R)`` per layer)."""
        if length not in self._cache:
            tokens = all_sequences(self.symbols, length).argmax(-1)
            with torch.no_grad():
                states = [s[:, 0] for s in self._ensemble.states(tokens)]
                outputs = self._ensemble(tokens)[0]
            self._cache[length] = {"tokens": tokens, "outputs": outputs, "states": states}
        return self._cache[length]

    def floor(self, length: int, width: int) -> float:
        """The depth-1 floor at ``width`` of the Start-End matrix at ``length``."""
        side = self.symbols ** (length // 2)
        return eckart_young_floor(self.at(length)["outputs"][:, -1].reshape(side, side), width)


def _relative(error: torch.Tensor, target: torch.Tensor, dims: tuple[int, ...]) -> torch.Tensor:
    return error.pow(2).sum(dims) / target.pow(2).sum()


def _phase_loss(ensemble: RACEnsemble, targets: dict, loss: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-student training loss ``(S,)`` and final-step relative error ``(S,)`` of one phase."""
    if loss == "states":
        layers = ensemble.states(targets["tokens"])
        out = torch.einsum("tsbr,sr->sbt", layers[-1], ensemble.readout)
    else:
        out = ensemble(targets["tokens"])
    y = targets["outputs"]
    final = _relative(out[:, :, -1] - y[:, -1], y[:, -1], (1,))
    if loss == "final":
        return final, final
    per_step = torch.stack([_relative(out[:, :, t] - y[:, t], y[:, t], (1,)) for t in range(y.shape[1])])
    total = per_step.mean(0)
    if loss == "states":
        for student, teacher in zip(layers, targets["states"]):
            total = total + torch.stack([_relative(student[t] - teacher[t], teacher[t], (1, 2))
                                         for t in range(teacher.shape[0])]).mean(0)
    return total, final


def _solve_readout(ensemble: RACEnsemble, targets: dict) -> None:
    """Set every student's readout to its least-squares optimum for the final-step target."""
    with torch.no_grad():
        top = ensemble.states(targets["tokens"])[-1][-1]  # (S, B, R)
        y = targets["outputs"][:, -1].expand(top.shape[0], -1)[..., None]
        solution = torch.linalg.lstsq(top, y).solution[..., 0]
        ensemble.readout.copy_(torch.where(torch.isfinite(solution), solution, ensemble.readout))


def _adam_phase(ensemble: RACEnsemble, targets: dict, phase: Phase) -> list[float]:
    """Adam on all students at once; returns each student's best final-step error seen."""
    solve = phase.readout == "lstsq"
    trained = [p for name, p in ensemble.named_parameters() if not (solve and name == "readout")]
    optimizer = torch.optim.Adam(trained, lr=phase.lr)
    best = torch.full((len(ensemble),), math.inf, dtype=torch.float64)
    alive = torch.ones(len(ensemble), dtype=torch.bool)
    for step in range(phase.steps):
        if step in (int(0.6 * phase.steps), int(0.85 * phase.steps)):
            for group in optimizer.param_groups:
                group["lr"] /= 10
        if solve:
            _solve_readout(ensemble, targets)
        loss, final = _phase_loss(ensemble, targets, phase.loss)
        alive &= torch.isfinite(loss.detach()) & torch.isfinite(final.detach())
        if not bool(alive.any()):
            break
        best = torch.where(alive, torch.minimum(best, final.detach()), best)  # a diverged student keeps its best
        optimizer.zero_grad()
        torch.where(alive, loss, torch.zeros_like(loss)).sum().backward()
        optimizer.step()
    return best.tolist()


def _lbfgs_one(student: RACEnsemble, targets: dict, phase: Phase) -> float:
    """L-BFGS (strong Wolfe, float64) on a one-student ensemble; its best final-step error seen."""
    optimizer = torch.optim.LBFGS(student.parameters(), lr=1.0, max_iter=phase.steps, max_eval=phase.steps,
                                  tolerance_grad=1e-12, tolerance_change=1e-15, history_size=50,
                                  line_search_fn="strong_wolfe")
    best = math.inf

    def closure() -> torch.Tensor:
        nonlocal best
        optimizer.zero_grad()
        loss, final = _phase_loss(student, targets, phase.loss)
        value = float(final.detach().sum())
        if math.isfinite(value):
            best = min(best, value)
        if not math.isfinite(float(loss.detach().sum())):  # let the line search back off instead of crashing
            return torch.tensor(math.inf, dtype=loss.dtype)
        loss.sum().backward()
        return loss.sum()

    optimizer.step(closure)
    return best


def _lbfgs_phase(ensemble: RACEnsemble, targets: dict, phase: Phase) -> list[float]:
    """L-BFGS on one student at a time (its line search couples parameters); each one's best error seen."""
    bests = []
    for index in range(len(ensemble)):
        student = ensemble.subset([index])
        bests.append(_lbfgs_one(student, targets, phase))
        with torch.no_grad():
            for mine, theirs in zip(ensemble.parameters(), student.parameters()):
                mine[index] = theirs[0]
    return bests


def run_strategy(strategy: Strategy, targets: TeacherTargets, depth: int, hidden: int,
                 seeds: Sequence[int]) -> dict:
    """Train one student per seed with ``strategy``; errors, wall and CPU seconds (JSON-ready).

    Examples
    --------
    >>> teacher = _rac(2, 2, 2, 3)
    >>> out = run_strategy(strategies(4, steps=20)["baseline"], TeacherTargets(teacher), 1, 2, [0, 1])
    >>> len(out["errors"]), out["evaluations"]
    (2, 20)
    """
    if depth not in strategy.depths:
        raise ValueError(f"strategy {strategy.name!r} applies to depths {strategy.depths}, not {depth}")
    ensemble = RACEnsemble.from_seeds(targets.symbols, hidden, depth, seeds)
    wall, cpu = time.perf_counter(), time.process_time()
    for phase in strategy.phases:
        if phase.loss == "states" and (depth, hidden) != (targets.teacher.depth, targets.teacher.hidden):
            raise ValueError("matching hidden states needs the teacher's depth and width")
        train = _lbfgs_phase if strategy.optimizer == "lbfgs" else _adam_phase
        errors = train(ensemble, targets.at(phase.length), phase)
    return {"errors": errors, "seeds": list(seeds), "evaluations": strategy.evaluations,
            "wall_seconds": time.perf_counter() - wall, "cpu_seconds": time.process_time() - cpu}


def floor_trials(teacher: DeepRNN, length: int = 8, *, seeds: int = 20, steps: int = 2000,
                 names: Sequence[str] | None = None, shallow: int = 8, progress: bool = True,
                 resume: dict | None = None, save: Callable[[dict], None] | None = None) -> dict:
    """Every strategy (or ``names``) at depth 1 (width ``shallow``) and depth 2 (the teacher's width).

    Returns a JSON-ready dict: the floor, the strategies (their phases), and per strategy and
    depth the errors and times of :func:`run_strategy`. ``save`` is called with the dict after
    every finished run; runs already in ``resume`` (an earlier result with the same settings)
    are kept, not rerun.

    Examples
    --------
    >>> out = floor_trials(_rac(2, 2, 2, 3), 4, seeds=2, steps=10, names=["baseline"], shallow=2, progress=False)
    >>> sorted(out["runs"]["baseline"]), len(out["runs"]["baseline"]["2"]["errors"])
    (['1', '2'], 2)
    """
    targets = TeacherTargets(teacher)
    found = strategies(length, steps)
    names = list(found) if names is None else list(names)
    unknown = sorted(set(names) - set(found))
    if unknown:
        raise ValueError(f"unknown strategies {unknown}; valid: {', '.join(found)}")
    result = {"length": length, "symbols": targets.symbols, "seeds": seeds, "steps": steps,
              "floor": targets.floor(length, shallow), "near_zero": NEAR_ZERO,
              "students": {"1": {"hidden": shallow}, "2": {"hidden": teacher.hidden}},
              "strategies": {name: asdict(found[name]) for name in names}, "runs": {}}
    if resume is not None:
        settings = ("length", "symbols", "seeds", "steps", "floor", "students")
        if any(resume.get(k) != result[k] for k in settings):
            raise ValueError(f"cannot resume: the stored result's settings differ ({', '.join(settings)})")
        result["runs"] = {name: dict(runs) for name, runs in resume["runs"].items() if name in names}
    for name in names:
        result["runs"].setdefault(name, {})
        for depth in found[name].depths:
            if str(depth) in result["runs"][name]:
                continue
            hidden = result["students"][str(depth)]["hidden"]
            run = run_strategy(found[name], targets, depth, hidden, range(seeds))
            result["runs"][name][str(depth)] = run
            if save is not None:
                save(result)
            if progress:
                print(f"{name} depth {depth}: median {sorted(run['errors'])[seeds // 2]:.3f}, "
                      f"{run['wall_seconds']:.0f} s", file=sys.stderr, flush=True)
    return result


def trials_table(result: dict) -> list[dict]:
    """One row per (strategy, depth) with the statistics of the stored errors.

    Raises
    ------
    RuntimeError
        If a depth-1 student is below the proven floor: a theorem forbids it, so it is a bug.
    """
    floor, rows = result["floor"], []
    for name, runs in result["runs"].items():
        for depth, run in runs.items():
            errors = sorted(run["errors"])
            if depth == "1" and errors[0] < floor * (1 - 1e-9):
                raise RuntimeError(f"strategy {name!r}: a depth-1 student reached {errors[0]!r} < the proven floor "
                                   f"{floor!r}; Eckart–Young forbids it, so the training or the floor is wrong")
            below = sum(e < floor for e in errors)
            near = sum(e < result["near_zero"] for e in errors)
            rows.append({"strategy": name, "depth": int(depth), "seeds": len(errors), "evaluations": run["evaluations"],
                         "min": errors[0], "median": errors[len(errors) // 2], "max": errors[-1],
                         "below_floor": below, "below_interval": clopper_pearson(below, len(errors)),
                         "near_zero": near, "near_interval": clopper_pearson(near, len(errors)),
                         "wall_seconds": run["wall_seconds"], "cpu_seconds": run["cpu_seconds"]})
    return rows


def trials_markdown(result: dict) -> str:
    """The table of :func:`trials_table` as Markdown."""
    lines = [f"Teacher: the stored depth-2 RAC at T = {result['length']} (M = {result['symbols']}), proven depth-1 "
             f"floor {result['floor']:.3f} at R = {result['students']['1']['hidden']}; students: depth 1 at R = "
             f"{result['students']['1']['hidden']}, depth 2 at R = {result['students']['2']['hidden']}. Errors are "
             f"relative squared errors of the Start-End target; near zero means below {result['near_zero']:g}.", "",
             "| strategy | depth | seeds | evaluations per student | relative error: min / median / max "
             "| below the floor [95% CP] | near zero [95% CP] | wall s | CPU s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for row in trials_table(result):
        (bl, bh), (nl, nh) = row["below_interval"], row["near_interval"]
        lines.append(f"| {row['strategy']} | {row['depth']} | {row['seeds']} | {row['evaluations']} | "
                     f"{row['min']:.3g} / {row['median']:.3g} / {row['max']:.3g} | {row['below_floor']}/{row['seeds']} "
                     f"[{bl:.2f}, {bh:.2f}] | {row['near_zero']}/{row['seeds']} [{nl:.2f}, {nh:.2f}] | "
                     f"{row['wall_seconds']:.0f} | {row['cpu_seconds']:.0f} |")
    lines += ["", "Strategies:", ""]
    lines += [f"- **{name}**: {spec['description']}" for name, spec in result["strategies"].items()]
    return "\n".join(lines) + "\n"


def plot_trials(result: dict, path: str | Path) -> Path:
    """Each student's error by strategy and depth on a log scale, with the proven floor; saved to ``path``."""
    from tnrnn import style

    with style.context():
        fig, ax = style.figure()
        names = list(result["runs"])
        for depth, offset in (("1", -0.15), ("2", 0.15)):
            xs, ys = [], []
            for i, name in enumerate(names):
                for e in result["runs"][name].get(depth, {}).get("errors", []):
                    xs.append(i + offset)
                    ys.append(max(e, 1e-12))
            ax.plot(xs, ys, style.depth_marker(int(depth)), color=style.depth_color(int(depth)), alpha=0.6, ms=4,
                    linestyle="none", label=f"depth {depth} students")
        ax.axhline(result["floor"], color="black", lw=1, ls="--", label="proven depth-1 floor")
        ax.set_yscale("log")
        ax.set_xticks(range(len(names)), names, rotation=20)
        ax.set_ylabel("relative error of the Start-End target")
        style.legend_outside(ax, where="below", ncol=3)
        return style.save(fig, path)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="training strategies against the proven floor, on a stored teacher")
    parser.add_argument("--teacher", required=True, help="a floor result JSON with teacher_weights")
    parser.add_argument("--out", required=True, help="path prefix: writes PREFIX.json, PREFIX.md and PREFIX.png")
    parser.add_argument("--length", type=int, default=8)
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--steps", type=int, default=2000, help="the baseline's Adam steps")
    parser.add_argument("--strategies", nargs="+", default=None, help="default: all")
    parser.add_argument("--resume", action="store_true", help="keep the runs already in PREFIX.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)

    teacher, stored_floor = load_teacher(args.teacher, args.length)
    shallow = json.loads(Path(args.teacher).read_text())["students"]["1"]["hidden"]
    if abs(TeacherTargets(teacher).floor(args.length, shallow) - stored_floor) > 1e-9:
        raise RuntimeError(f"the loaded teacher does not reproduce its stored floor {stored_floor!r}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    command = "python -m tnrnn.nn.floor_trials " + " ".join(sys.argv[1:] if argv is None else argv)

    def save(result: dict) -> None:
        result.update(command=command, teacher_source=str(args.teacher), threads=torch.get_num_threads())
        text = trials_markdown(result)  # checks the floor before anything is written
        atomic_write(out.with_suffix(".json"), lambda tmp: Path(tmp).write_text(json.dumps(result, indent=1) + "\n"))
        atomic_write(out.with_suffix(".md"), lambda tmp: Path(tmp).write_text(text))

    resume = json.loads(out.with_suffix(".json").read_text()) if args.resume and out.with_suffix(".json").exists() \
        else None
    result = floor_trials(teacher, args.length, seeds=args.seeds, steps=args.steps, names=args.strategies,
                          shallow=shallow, resume=resume, save=save)
    save(result)
    plot_trials(result, out.with_suffix(".png"))
    print(trials_markdown(result))


if __name__ == "__main__":
    main()
