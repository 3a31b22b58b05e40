"""``tnrnn timescale``: forget-gate time scales and the gradient condition of a gated RNN."""

from __future__ import annotations

import argparse

from tnrnn._files import output_dir
from tnrnn._outputs import announce, check_replace_all, fresh_dir, prepare_dir
from tnrnn.cli._common import (
    add_force,
    add_json,
    add_progress,
    format_table,
    nonnegative_int,
    positive_int,
    print_json,
    progress,
    seed_int,
)

HELP = ("forget-gate time scales and the gradient condition (Ohno & Kumagai, arXiv:2111.03282) "
        "of an LSTM/GRU on a task")


def add_arguments(parser) -> None:
    parser.add_argument("--cell", choices=["lstm", "gru"], default="lstm", help="gated cell (default lstm)")
    parser.add_argument("--init", choices=["pytorch", "constant", "chrono", "uniform"], default="constant",
                        help="forget-gate initialisation (default constant)")
    parser.add_argument("--gate", choices=["sigmoid", "fast", "timescale"], default="sigmoid",
                        help="forget-gate activation: sigmoid, fast sigma(sinh z), timescale exp(-1/(1+softplus z))")
    parser.add_argument("--task", choices=["copying", "ses", "adding"], default="adding", help="task (default adding)")
    parser.add_argument("--length", "-T", type=positive_int, default=None,
                        help="the task's length (T for adding and ses, delay B for copying); required "
                             "unless --experiment")
    parser.add_argument("--forget-bias", type=float, default=1.0, help="B for --init constant (default 1)")
    parser.add_argument("--tmax", type=float, default=None,
                        help="T_max for --init chrono (default: the sequence length)")
    parser.add_argument("--hidden", "-R", type=positive_int, default=32, help="hidden width (default 32)")
    parser.add_argument("--depth", "-L", type=positive_int, default=1, help="number of layers (default 1)")
    parser.add_argument("--steps", type=nonnegative_int, default=0,
                        help="train this many Adam steps first, tracking the condition (default 0: at init)")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="training batch (default 64)")
    parser.add_argument("--lr", type=float, default=1e-2, help="Adam learning rate (default 1e-2)")
    parser.add_argument("--eval-every", type=positive_int, default=50, help="evaluate every N steps (default 50)")
    parser.add_argument("--diag-batch", type=positive_int, default=64, help="batch of the diagnostics (default 64)")
    parser.add_argument("--layer", type=int, default=-1, help="layer whose gates and states (default -1: top)")
    parser.add_argument("--min-lag", type=int, default=1, help="first lag of the exponential fit (default 1)")
    parser.add_argument("--max-lag", type=int, default=None, help="last lag of the fit (default T-1)")
    parser.add_argument("--loss-steps", type=int, default=None,
                        help="differentiate the loss of the last K steps only (e.g. copying's recall "
                             "window; default: the whole task loss)")
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of weights, init and batches (default 0)")
    add_json(parser)
    parser.add_argument("--experiment", action="store_true",
                        help="instead: train every gate variant on adding and copying, write "
                             "OUT/timescale_*.png and print the summary (resumes from the runs in --runs)")
    parser.add_argument("--quick", action="store_true", help="with --experiment: tiny sizes")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="with --experiment: figure directory, created if missing (default: a fresh "
                             "tnrnn-timescale-TIME directory)")
    parser.add_argument("--figures", dest="out", help=argparse.SUPPRESS)  # old name of --out
    parser.add_argument("--runs", default=None, metavar="DIR",
                        help="with --experiment: directory of the training runs, reused when present "
                             "(default OUT/runs)")
    add_force(parser)  # with --experiment: replace existing figures
    add_progress(parser)


def _check(args) -> None:
    for name in ("hidden", "depth", "batch_size", "eval_every", "diag_batch"):
        value = getattr(args, name)
        if value < 1:
            raise ValueError(f"--{name.replace('_', '-')} must be a positive integer, got {value}")
    if args.steps < 0:
        raise ValueError(f"--steps must be >= 0, got {args.steps}")
    if not -args.depth <= args.layer < args.depth:
        raise ValueError(f"--layer must be in [{-args.depth}, {args.depth - 1}], got {args.layer}")
    if args.tmax is not None and not args.tmax > 2:
        raise ValueError(f"--tmax must be > 2, got {args.tmax:g}")
    if args.length is not None:
        from tnrnn.guards import check_bytes

        if args.length < 1:
            raise ValueError(f"--length must be a positive integer, got {args.length}")
        # gated cell: 4 gates of R x (R + input) per layer (weights, gradients, Adam state), and the
        # activations of a batch (about 16 float32 per unit and step, kept for the gradient diagnostics)
        batch = max(args.batch_size, args.diag_batch)
        check_bytes(4 * 4 * 4 * args.depth * args.hidden * (2 * args.hidden + 8),
                    f"an {args.cell} of width {args.hidden} and depth {args.depth}")
        check_bytes(64 * batch * (args.length + 20) * args.hidden * args.depth,
                    f"a batch of {batch} sequences of length ~{args.length} through width {args.hidden}")


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _experiment(args) -> int:
    from tnrnn.lenses.timescale import (  # torch: imported when the command runs, not at --help
        experiment_results_dir,
        load_comparison,
        summarize_comparison,
        timescale_experiment,
    )

    if args.out is None:
        out = fresh_dir("timescale")
        announce("timescale", out, args.json)
    else:
        from pathlib import Path

        check_replace_all(sorted(Path(args.out).glob("timescale_*.png")), "--out", args.force)
        out = prepare_dir(args.out)
    runs = output_dir(args.runs, "--runs") if args.runs is not None else out / "runs"
    results = runs / experiment_results_dir(args.quick, args.seed).relative_to("runs")
    paths = timescale_experiment(out, quick=args.quick, seed=args.seed, results_dir=results,
                                 progress=progress(args))
    rows = summarize_comparison(load_comparison(results))
    if args.json:
        print_json({"figures": [str(p) for p in paths], "runs": rows})
        return 0

    def short(v):
        return "-" if v is None else (f"{v:.3g}" if isinstance(v, float) else v)

    keys = ["task", "T", "variant", "steps_to_solve", "final_loss", "baseline_loss", "final_metric",
            "tau_median_initial",
            "tau_median_final", "gradient_timescale_initial", "condition_early", "condition_late"]
    print(format_table(keys, [[short(row[k]) for k in keys] for row in rows]))
    print("figures: " + ", ".join(str(p) for p in paths))
    return 0


def run(args) -> int:
    if args.experiment:
        return _experiment(args)
    if args.length is None:
        raise ValueError("--length is required (or use --experiment)")
    _check(args)
    import torch

    from tnrnn.lenses.timescale import (
        GateVariant,
        GradientConditionCallback,
        build_gated_model,
        diagnose,
        train_gated,
    )
    from tnrnn.nn.tasks import make_task

    task = make_task(args.task, args.length)
    if args.max_lag is not None and not args.min_lag <= args.max_lag < task.sequence_length:
        raise ValueError(f"--max-lag must be in [--min-lag, {task.sequence_length - 1}], got {args.max_lag}")
    if not 0 <= args.min_lag <= task.sequence_length - 3:
        raise ValueError(f"--min-lag must be in [0, {task.sequence_length - 3}], got {args.min_lag}")
    variant = GateVariant(f"{args.gate}/{args.init}", args.gate, args.init, args.forget_bias, args.tmax)
    model = build_gated_model(task, variant, cell=args.cell, hidden=args.hidden, depth=args.depth,
                              seed=args.seed)
    result = {"cell": args.cell, "gate": args.gate, "init": args.init, "task": args.task, "length": args.length,
              "sequence_length": task.sequence_length, "hidden": args.hidden, "depth": args.depth,
              "steps": args.steps, "loss_steps": args.loss_steps}
    diag = {"layer": args.layer, "min_lag": args.min_lag, "max_lag": args.max_lag, "loss_steps": args.loss_steps}
    if args.loss_steps is not None and not 1 <= args.loss_steps <= task.sequence_length:
        raise ValueError(f"--loss-steps must be in [1, {task.sequence_length}], got {args.loss_steps}")
    if args.steps > 0:
        callback = GradientConditionCallback(batch_size=args.diag_batch, seed=args.seed + 777, **diag)
        torch.manual_seed(args.seed)
        summary = train_gated(model, task, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                              seed=args.seed, eval_every=args.eval_every, callbacks=[callback],
                              progress=progress(args), desc="timescale")
        keys = ("step", "loss", "metric", "fit_rate", "fit_r2", "condition_holds", "tau_median")
        result["training"] = {k: summary[k] for k in ("final_loss", "final_metric", "baseline_loss",
                                                      "steps_to_solve")}
        result["training"]["history"] = [{k: line[k] for k in keys} for line in summary["history"]]
    report = diagnose(model, task, batch_size=args.diag_batch, seed=args.seed + 777, **diag)
    result.update(report.to_dict())
    if args.json:
        print_json(result)
        return 0
    tau = result["gate_timescales"]
    print(f"{args.cell.upper()} ({args.gate} gate, {args.init} init), width {args.hidden}, depth {args.depth}, "
          f"{args.task} length {args.length} (T = {task.sequence_length}), after {args.steps} steps")
    print(format_table(["gate time scale tau", "value"],
                       [[k, f"{tau[k]:.4g}"] for k in ("min", "q10", "median", "q90", "max", "geometric_mean")]
                       + [[f"fraction > T={task.sequence_length}", f"{tau['fraction_above']:.3f}"]]))
    norms = result["gradient_norms"]
    picks = sorted({0, 1, len(norms) // 4, len(norms) // 2, 3 * len(norms) // 4, len(norms) - 1})
    print(format_table(["lag k", "||dL/dc_{T-k}||"], [[k, f"{norms[k]:.3e}"] for k in picks]))
    rate, r2 = result["fit_rate"], result["fit_r2"]
    print(f"exponential fit over lags {result['fit_lags'][0]}..{result['fit_lags'][1]}: rate {_fmt(rate)}, "
          f"R^2 {_fmt(r2)}, gradient time scale {_fmt(result['fit_timescale'])}")
    print(f"gradient condition {'HOLDS' if result['condition_holds'] else 'does NOT hold'} "
          f"({result['condition_rule']})")
    return 0
