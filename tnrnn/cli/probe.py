"""``tnrnn probe``: the Start-End spectrum and float ranks of a trained network.

Two sources: ``--data templates`` (default), the grid tensor over template symbols of a
chosen length; ``--data task``, N first halves × N second halves drawn from the task the
network was trained on, beside the same matrix of the task's optimal predictor
(:func:`tnrnn.probe.task_probe`).
"""

from __future__ import annotations

from tnrnn.cli._common import (
    add_json,
    add_max_bytes,
    add_partition,
    finite_float,
    format_table,
    positive_int,
    print_json,
    seed_int,
)
from tnrnn.guards import check_bytes

HELP = "probe a trained run directory: spectrum, rank, effective rank of its grid tensor"


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", metavar="DIR", help="a training run directory (tnrnn train --out)")
    parser.add_argument("--data", choices=("templates", "task"), default="templates",
                        help="probe over template symbols (default) or on the task's own data")
    parser.add_argument("--length", "-T", type=positive_int, default=None,
                        help="T, the probed sequence length (templates: required; task: the run's own T)")
    parser.add_argument("--pairs", type=positive_int, default=128,
                        help="--data task: N first halves x N second halves (default 128)")
    add_partition(parser)
    parser.add_argument("--symbols", default=None,
                        help="template symbols: a count N (symbols 0..N-1) or a list 1,2,5 "
                             "(default: the whole task alphabet)")
    parser.add_argument("--output-index", type=int, default=0,
                        help="output coordinate (class logit) probed (default 0)")
    parser.add_argument("--step", type=int, default=-1, help="time step read (default -1, the last)")
    parser.add_argument("--method", default="auto", choices=("auto", "dense", "sampled"),
                        help="dense grid, sampled prefix/suffix blocks, or auto (dense while small)")
    parser.add_argument("--rows", type=positive_int, default=256, help="sampled rows (default 256)")
    parser.add_argument("--cols", type=positive_int, default=256, help="sampled columns (default 256)")
    parser.add_argument("--tolerance", type=finite_float(0.0, low_open=True), default=None,
                        help="absolute rank tolerance, a finite number > 0 (default sigma_max * max(m, n) * eps)")
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of the sampled blocks (and of the task halves)")
    parser.add_argument("--exact", action="store_true",
                        help="RAC models: also rank (in float64) the grid tensor built from the exported RAC "
                             "weights; JSON key rac_route, kind float")
    add_max_bytes(parser)
    add_json(parser)


def _symbols(text):
    if text is None:
        return None
    try:
        values = [int(v) for v in text.split(",") if v.strip()]
    except ValueError:
        raise ValueError(f"--symbols must be a count or a comma-separated list of integers, got {text!r}") from None
    return values[0] if len(values) == 1 and "," not in text else values


def _task_data(args, model, config, task) -> int:
    import math

    from tnrnn.probe import task_probe

    if args.length is not None and args.length != task.sequence_length:
        raise ValueError(f"--length {args.length}: --data task probes the run's own length T="
                         f"{task.sequence_length}; drop --length or give that value")
    if args.step != -1 or args.exact or args.symbols is not None or args.tolerance is not None:
        raise ValueError("--data task reads the last step at relative tolerances 1e-1, 1e-2, 1e-3: drop "
                         "--step, --exact, --symbols and --tolerance")
    result = task_probe(model, task, pairs=args.pairs, seed=args.seed, output_index=args.output_index)
    out = result.to_dict()
    out.update(run_dir=str(args.run_dir), task=config.task, cell=config.cell, depth=config.depth,
               hidden=config.hidden)
    if config.cell == "rac" and task.alphabet_size is not None:
        from tnrnn.rac.bounds import bounds
        from tnrnn.rac.circuits import RACSpec
        from tnrnn.rac.partitions import start_end

        closed = bounds(RACSpec(task.alphabet_size, config.hidden, config.depth), task.sequence_length,
                        start_end(task.sequence_length)).to_dict()
        out["theory"] = {"templates": task.alphabet_size, "lower": closed["lower"], "upper": closed["upper"],
                         "certified": closed["lower"] == closed["upper"],
                         "what": "generic Start-End rank of the RAC of this width and depth over the task "
                                 "alphabet: proven interval"}
    if args.json:
        print_json(out)
        return 0
    print(f"{args.run_dir}: {config.task} {config.cell} L={config.depth} R={config.hidden}; task data, "
          f"{args.pairs} x {args.pairs} pairs at T={task.sequence_length}, output {args.output_index} at the "
          f"last step (float ranks of these weights)")
    rows = [[name] + [ranks[k] for k in ranks] + [energy[k] for k in energy]
            for name, ranks, energy in (("trained network", result.tolerance_ranks, result.energy_ranks),
                                        ("optimal predictor", result.target_tolerance_ranks,
                                         result.target_energy_ranks))]
    header = ["matrix"] + [f"rank at {k} sigma_max" for k in result.tolerance_ranks] + [
        f"rank for {float(k):.0%} energy" for k in result.energy_ranks]
    print(format_table(header, rows))
    if "theory" in out:
        theory = out["theory"]
        print(f"theory (exact): generic rank in [{theory['lower']}, {theory['upper']}] at M={theory['templates']}")
    errors = result.approximation_error
    shown = [r for r in (1, 2, 4, 8, 16, 32, 64) if r < len(errors)]
    print("best rank-r relative error: " + ", ".join(f"r={r}: {errors[r]:.3g}" for r in shown)
          + ("" if all(map(math.isfinite, errors)) else " (non-finite)"))
    return 0


def run(args) -> int:
    from tnrnn.nn import load_run
    from tnrnn.probe import probe_model, rac_probe

    symbols = _symbols(args.symbols)
    if args.data == "task":
        check_bytes(8 * args.pairs * args.pairs * ((args.length or 0) + 2),
                    f"--pairs {args.pairs}: {args.pairs}^2 sequences", args.max_bytes)
        model, config, task = load_run(args.run_dir)
        return _task_data(args, model, config, task)
    if args.length is None:
        raise ValueError("--length is required with --data templates (the probed sequence length T)")
    if args.method != "dense":  # a sampled block: rows x cols sequences of T steps through the model
        check_bytes(8 * args.rows * args.cols * (args.length + 2),
                    f"a sampled block of --rows {args.rows} x --cols {args.cols} sequences of {args.length} steps",
                    args.max_bytes)
    model, config, task = load_run(args.run_dir)
    if not -args.length <= args.step < args.length:
        raise ValueError(f"--step must be in [{-args.length}, {args.length - 1}] for --length {args.length}, "
                         f"got {args.step}")
    if not -task.output_size <= args.output_index < task.output_size:
        raise ValueError(f"--output-index must be in [0, {task.output_size - 1}] for this run's task "
                         f"({config.task}), got {args.output_index}")
    result = probe_model(model, task, args.length, args.partition, output_index=args.output_index,
                         step=args.step, symbols=symbols, method=args.method, rows=args.rows, cols=args.cols,
                         tolerance=args.tolerance, seed=args.seed)
    exact = None
    if args.exact:
        if config.cell != "rac":
            raise ValueError(f"--exact needs a RAC model, this run's cell is {config.cell!r}")
        if args.step != -1:
            raise ValueError("--exact reads the last step: drop --step")
        exact = rac_probe(model, args.length, args.partition, output_index=args.output_index,
                          symbols=result.symbols, tolerance=args.tolerance, max_bytes=args.max_bytes)
    if args.json:
        out = result.to_dict()
        out.update(run_dir=str(args.run_dir), task=config.task, cell=config.cell, depth=config.depth,
                   hidden=config.hidden, kind="float")
        if exact is not None:  # a float rank too (float64 SVD of the exported weights' grid)
            out["rac_route"] = {**exact.to_dict(), "kind": "float"}
        print_json(out)
        return 0
    print(f"{args.run_dir}: {config.task} {config.cell} L={config.depth} R={config.hidden}; "
          f"y = output {args.output_index} at step {args.step}; symbols {result.symbols}")
    rows = [[r.method, r.partition, f"{r.shape[0]}x{r.shape[1]}", r.rank, f"{r.tolerance:.3g}",
             f"{r.effective_rank:.4g}", f"{r.entropy:.4g}", f"{r.seconds:.2f}"]
            for r in [result] + ([exact] if exact is not None else [])]
    print(format_table(["method", "partition", "matrix", "float rank", "tolerance", "effective rank",
                        "entropy", "seconds"], rows))
    top = ", ".join(f"{v:.3g}" for v in result.spectrum[:8])
    print(f"top singular values: {top}{' ...' if len(result.spectrum) > 8 else ''}")
    print(result.describe())
    return 0
