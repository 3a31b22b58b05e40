"""``tnrnn train``: train a (deep, orthogonal) RNN on a memory task; resumable.

The last line printed is one JSON object: ``steps``, ``final_loss``, ``baseline_loss``,
``accuracy``, ``parameters`` and more (see :func:`tnrnn.nn.train`).
"""

from __future__ import annotations

HELP = "train a deep (orthogonal) RNN on copying, Start-End Similarity or adding; resumes from --out"

_TASKS = ("copying", "ses", "adding")
_CELLS = ("rac", "tanh", "modrelu", "lstm", "gru")
_MAPS = ("cayley", "matrix_exp", "householder", "scaled_cayley")


def add_arguments(parser) -> None:
    parser.add_argument("--task", required=True, choices=_TASKS, help="memory task")
    parser.add_argument("--length", "-T", type=int, required=True,
                        help="the task's length: delay B for copying (sequence B+20), T for ses and adding")
    parser.add_argument("--cell", required=True, choices=_CELLS, help="recurrent cell")
    parser.add_argument("--depth", "-L", type=int, required=True, help="number of stacked layers")
    width = parser.add_mutually_exclusive_group(required=True)
    width.add_argument("--hidden", "-R", type=int, help="width of every layer")
    width.add_argument("--budget", type=int,
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
    parser.add_argument("--steps", type=int, required=True, help="optimiser steps (batches)")
    parser.add_argument("--seed", type=int, required=True, help="seed of init, data and validation set")
    parser.add_argument("--out", required=True, help="run directory (config.json, metrics.jsonl, checkpoint.pt)")
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
    parser.add_argument("--device", default="cpu", help="torch device (default cpu)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args) -> int:
    import torch

    from tnrnn.cli._common import print_json
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
    probe = TrainConfig(**fields)  # validates everything but the width
    if args.budget is not None:
        task = probe.make_task()
        fields["hidden"] = width_for_budget(args.cell, args.depth, args.budget, task.input_size, task.output_size)
    else:
        fields["hidden"] = args.hidden
    summary = train(TrainConfig(**fields), args.out, progress=not args.quiet)
    print_json(summary)
    return 0
