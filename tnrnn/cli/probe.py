"""``tnrnn probe``: the grid-tensor spectrum and float rank of a trained network."""

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

HELP = "probe a trained run directory: spectrum, rank, effective rank of its grid tensor"


def add_arguments(parser) -> None:
    parser.add_argument("run_dir", metavar="DIR", help="a training run directory (tnrnn train --out)")
    parser.add_argument("--length", "-T", type=positive_int, required=True, help="T, the probed sequence length")
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
    parser.add_argument("--tolerance", type=finite_float(0.0), default=None,
                        help="absolute rank tolerance, a finite number >= 0 (default sigma_max * max(m, n) * eps)")
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of the sampled blocks")
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


def run(args) -> int:
    from tnrnn._guards import check_bytes
    from tnrnn.nn import load_run
    from tnrnn.probe import probe_model, rac_probe

    symbols = _symbols(args.symbols)
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
