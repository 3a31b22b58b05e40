"""``tnrnn train``: train a (deep, orthogonal) RNN on a memory task; resumable.

The last line printed is one JSON object: ``steps``, ``final_loss``, ``baseline_loss``,
``accuracy``, ``parameters`` and more (see :func:`tnrnn.nn.train`).
"""

from __future__ import annotations

import argparse

from tnrnn.cli._common import add_max_bytes, add_progress, positive_int, progress, seed_int

HELP = "train a deep (orthogonal) RNN on copying, Start-End Similarity or adding; resumes from --out"

# The library's defaults (tnrnn.nn.TrainConfig) are the command's; spelled out here so that
# building the parser does not import torch. tests/test_cli_grammar.py checks they agree.
_DEFAULT_STEPS, _DEFAULT_SEED, _DEFAULT_HIDDEN = 1000, 0, 64

_TASKS = ("copying", "ses", "adding")
_CELLS = ("rac", "tanh", "modrelu", "lstm", "gru")
_MAPS = ("cayley", "matrix_exp", "householder", "scaled_cayley")


def add_arguments(parser) -> None:
    parser.add_argument("--task", required=True, choices=_TASKS, help="memory task")
    parser.add_argument("--length", "-T", type=positive_int, required=True,
                        help="the task's length: delay B for copying (sequence B+20), T for ses and adding")
    parser.add_argument("--cell", required=True, choices=_CELLS, help="recurrent cell")
    parser.add_argument("--depth", "-L", type=positive_int, required=True, help="number of stacked layers")
    width = parser.add_mutually_exclusive_group()
    width.add_argument("--hidden", "-R", type=positive_int, default=None,
                       help=f"width of every layer (default {_DEFAULT_HIDDEN})")
    width.add_argument("--budget", type=positive_int,
                       help="parameter budget: use the widest network of this depth within it")
    parser.add_argument("--orthogonal", choices=_MAPS, default=None, help="orthogonal map of W^H (default: none)")
    parser.add_argument("--orthogonal-init", default="henaff", choices=("henaff", "cayley", "random"),
                        help="initial orthogonal matrix (default henaff)")
    parser.add_argument("--alphabet", type=int, default=None,
                        help="number of data symbols (copying: 8; ses: 32)")
    parser.add_argument("--word-length", type=int, default=None,
                        help="copying: symbols to recall (10); ses: word length m (default min(30, T/2))")
    parser.add_argument("--variant", default=None, choices=("arjovsky", "exprnn", "marker"),
                        help="copying convention (default arjovsky)")
    parser.add_argument("--steps", type=positive_int, default=_DEFAULT_STEPS,
                        help=f"optimiser steps (batches) (default {_DEFAULT_STEPS})")
    parser.add_argument("--seed", type=seed_int, default=_DEFAULT_SEED,
                        help=f"seed of init, data and validation set (default {_DEFAULT_SEED})")
    parser.add_argument("--out", required=True,
                        help="run directory, created if missing (config.json, metrics.jsonl, checkpoint.pt)")
    parser.add_argument("--batch-size", type=int, default=128, help="default 128")
    parser.add_argument("--lr", type=float, default=1e-3, help="RMSprop learning rate (default 1e-3)")
    parser.add_argument("--lr-orthogonal", type=float, default=1e-4,
                        help="learning rate of the orthogonal parameters (default 1e-4)")
    parser.add_argument("--clip", type=float, default=1.0, help="max gradient norm; 0 disables (default 1)")
    parser.add_argument("--eval-every", type=int, default=100, help="steps between evaluations (default 100)")
    parser.add_argument("--val-size", type=int, default=512, help="validation set size (default 512)")
    parser.add_argument("--patience", type=int, default=10,
                        help="evaluations without improvement that make a plateau; 0 disables (default 10)")
    parser.add_argument("--max-plateaus", type=int, default=2, help="stop at this plateau (default 2)")
    parser.add_argument("--device", default="cpu", help="torch device: cpu (default), cuda, cuda:N or mps")
    parser.add_argument("--threads", type=positive_int, default=None, help="torch CPU threads (default: torch's)")
    add_max_bytes(parser)
    add_progress(parser)
    parser.add_argument("--quiet", dest="no_progress", action="store_true", help=argparse.SUPPRESS)  # old name
    parser.add_argument("--json", action="store_true",
                        help="accepted for uniformity: train always prints one JSON object")


def run(args) -> int:
    import torch

    from tnrnn._files import output_dir
    from tnrnn.cli._common import check_device, print_json
    from tnrnn.nn import TrainConfig, train, width_for_budget

    if args.threads is not None:
        if args.threads < 1:
            raise ValueError(f"--threads must be >= 1, got {args.threads}")
        torch.set_num_threads(args.threads)
    if args.clip is not None and args.clip < 0:
        raise ValueError(f"--clip must be >= 0 (0 disables clipping), got {args.clip}")
    fields = dict(task=args.task, length=args.length, cell=args.cell, depth=args.depth, hidden=1,
                  orthogonal=args.orthogonal, orthogonal_init=args.orthogonal_init, alphabet=args.alphabet,
                  word_length=args.word_length, variant=args.variant, steps=args.steps, seed=args.seed,
                  batch_size=args.batch_size, lr=args.lr, lr_orthogonal=args.lr_orthogonal,
                  clip=args.clip or None, eval_every=args.eval_every, val_size=args.val_size,
                  plateau_patience=args.patience, max_plateaus=args.max_plateaus, device=args.device)
    check_device(args.device)
    probe = TrainConfig(**fields)  # validates everything but the width
    task = probe.make_task()
    if args.budget is not None:
        fields["hidden"] = width_for_budget(args.cell, args.depth, args.budget, task.input_size, task.output_size)
    else:
        fields["hidden"] = _DEFAULT_HIDDEN if args.hidden is None else args.hidden
    _check_size(fields, task, args.max_bytes)
    output_dir(args.out, "--out")
    summary = train(TrainConfig(**fields), args.out, progress=progress(args))
    print_json(summary)
    return 0


def _check_size(fields: dict, task, max_bytes: int | None) -> None:
    """Refuse a model or batch beyond the memory limit before building it (float32, Adam-like state)."""
    from tnrnn._guards import check_bytes
    from tnrnn.nn.budget import parameter_count

    hidden, depth = fields["hidden"], fields["depth"]
    parameters = parameter_count(fields["cell"], depth, hidden, task.input_size, task.output_size)
    # weights, gradients, optimiser state and the best copy: 4 float32 copies
    check_bytes(16 * parameters, f"a {fields['cell']} network of depth {depth}, width {hidden} "
                                 f"({parameters:,} parameters)", max_bytes)
    # activations kept for backpropagation: about 8 float32 per unit, step and example (gated cells more)
    steps = getattr(task, "sequence_length", fields["length"])
    check_bytes(4 * fields["val_size"] * steps * (task.input_size + 2),
                f"a validation set of {fields['val_size']} sequences of {steps} steps", max_bytes)
    check_bytes(32 * fields["batch_size"] * steps * hidden * depth,
                f"a batch of {fields['batch_size']} sequences of {steps} steps through width {hidden}, "
                f"depth {depth}", max_bytes)
