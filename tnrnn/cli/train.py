"""``tnrnn train``: train a (deep, orthogonal) RNN on a memory task; resumable.

The last line printed is one JSON object: the summary of :func:`tnrnn.nn.train`
(``seed``, ``steps``, ``final_loss``, ``accuracy``, ``test_accuracy``, ...), or with
several ``--seeds`` the summary of :func:`tnrnn.nn.train_ensemble`, whose ``members``
lists one such summary per seed. Options not given take their value from ``--preset``
if one is named, else from :class:`tnrnn.nn.TrainConfig`'s defaults.
"""

from __future__ import annotations

import argparse

from tnrnn._files import output_dir
from tnrnn._threads import get_threads
from tnrnn.cli._common import (
    add_max_bytes,
    add_progress,
    check_device,
    positive_int,
    print_json,
    progress,
    seed_int,
)

HELP = "train a deep (orthogonal) RNN on copying, Start-End Similarity or adding; resumes from --out"

# the choices of the library's tables, written out so that --help imports no torch (a test keeps them equal)
_PRESETS = ("paper",)
_TASKS = ("copying", "ses", "adding")
_CELLS = ("rac", "tanh", "modrelu", "lstm", "gru")
_MAPS = ("cayley", "matrix_exp", "householder", "scaled_cayley")

#: argparse destination -> TrainConfig field, for the options that map one to one.
_FIELDS = {
    "task": "task", "length": "length", "cell": "cell", "depth": "depth", "orthogonal": "orthogonal",
    "orthogonal_init": "orthogonal_init", "alphabet": "alphabet", "word_length": "word_length",
    "variant": "variant", "steps": "steps", "batch_size": "batch_size", "lr": "lr",
    "lr_orthogonal": "lr_orthogonal", "recurrent_clip": "recurrent_clip", "eval_every": "eval_every",
    "val_size": "val_size", "test_size": "test_size", "patience": "plateau_patience",
    "max_plateaus": "max_plateaus", "device": "device",
}


def add_arguments(parser) -> None:
    parser.add_argument("--preset", choices=_PRESETS, default=None,
                        help="start from named settings: 'paper' = the published experiments' code "
                             "(scoRNN, modReLU, its initialisation, clipping, optimiser and schedule)")
    parser.add_argument("--task", required=True, choices=_TASKS, help="memory task")
    parser.add_argument("--length", "-T", type=positive_int, required=True,
                        help="the task's length: delay B for copying (sequence B+20), T for ses and adding")
    parser.add_argument("--cell", choices=_CELLS, help="recurrent cell (default modrelu)")
    parser.add_argument("--depth", "-L", type=positive_int, help="number of stacked layers (default 1)")
    width = parser.add_mutually_exclusive_group()
    width.add_argument("--hidden", "-R", type=positive_int, help="width of every layer (default 64)")
    width.add_argument("--budget", type=positive_int,
                       help="free-parameter budget: the widest network of this depth within it "
                            "(an orthogonal R x R matrix counts R(R-1)/2)")
    parser.add_argument("--orthogonal", choices=_MAPS, help="orthogonal map of W^H (default: none)")
    parser.add_argument("--orthogonal-init", choices=("henaff", "cayley", "random"),
                        help="initial orthogonal matrix (default henaff)")
    parser.add_argument("--alphabet", type=positive_int, help="number of data symbols (copying: 8; ses: 32)")
    parser.add_argument("--word-length", type=positive_int,
                        help="copying: symbols to recall (10); ses: word length m (default min(30, T/2))")
    parser.add_argument("--variant", choices=("arjovsky", "exprnn", "marker"),
                        help="copying convention (default arjovsky)")
    parser.add_argument("--steps", type=positive_int, help="optimiser steps (batches; default 1000)")
    seeds = parser.add_mutually_exclusive_group()
    seeds.add_argument("--seed", type=seed_int, help="seed of init, data, validation and test sets (default 0)")
    seeds.add_argument("--seeds", type=int, nargs="+", metavar="SEED",
                       help="train one network per seed, together as one ensemble; --out gets one "
                            "seed-<s>/ run directory per seed")
    parser.add_argument("--out", required=True, metavar="DIR",
                        help="run directory, created if missing (config.json, metrics.jsonl, checkpoint.pt), or "
                             "with --seeds the ensemble directory")
    parser.add_argument("--batch-size", type=positive_int, help="default 128")
    parser.add_argument("--lr", type=float, help="RMSprop learning rate (default 1e-3)")
    parser.add_argument("--lr-orthogonal", type=float,
                        help="learning rate of the orthogonal parameters (default 1e-4)")
    parser.add_argument("--clip", type=float,
                        help="max global gradient norm; 0 disables (default 1, none with --preset paper)")
    parser.add_argument("--recurrent-clip", type=float,
                        help="rescale each W^H gradient to this infinity-norm (default: none; 10 with "
                             "--preset paper)")
    parser.add_argument("--eval-every", type=positive_int, help="steps between evaluations (default 100)")
    parser.add_argument("--val-size", type=positive_int, help="validation set size (default 512)")
    parser.add_argument("--test-size", type=positive_int, help="separate test set size (default 1024)")
    parser.add_argument("--patience", type=int,
                        help="evaluations without improvement that make a plateau; 0 disables (default 10)")
    parser.add_argument("--max-plateaus", type=positive_int, help="stop at this plateau (default 2)")
    parser.add_argument("--device", help="torch device: cpu (default), cuda, cuda:N or mps")
    add_max_bytes(parser)
    add_progress(parser)
    parser.add_argument("--quiet", dest="no_progress", action="store_true", help=argparse.SUPPRESS)  # old name
    parser.add_argument("--json", action="store_true",
                        help="accepted for uniformity: train always prints one JSON object")


def config_from(args):
    """The :class:`~tnrnn.nn.TrainConfig` the arguments ask for (``hidden`` resolved from ``--budget``)."""
    import dataclasses

    from tnrnn.nn import TrainConfig, width_for_budget

    fields = {field: getattr(args, dest) for dest, field in _FIELDS.items() if getattr(args, dest) is not None}
    if args.clip is not None:
        if args.clip < 0:
            raise ValueError(f"--clip must be >= 0 (0 disables clipping), got {args.clip}")
        fields["clip"] = args.clip or None
    if args.seed is not None:
        fields["seed"] = args.seed
    if args.hidden is not None:
        fields["hidden"] = args.hidden
    make = (lambda **f: TrainConfig.preset(args.preset, **f)) if args.preset else TrainConfig
    config = make(**fields)  # validates everything
    if args.budget is not None:
        task = config.make_task()
        hidden = width_for_budget(config.cell, config.depth, args.budget, task.input_size, task.output_size,
                                  orthogonal=config.orthogonal is not None)
        config = dataclasses.replace(config, hidden=hidden)
    return config


def run(args) -> int:
    from tnrnn._validation import check_seed_list
    from tnrnn.nn import train, train_ensemble
    from tnrnn.nn.budget import check_train_size

    check_device(args.device)
    config = config_from(args)
    if args.seeds is not None:
        check_seed_list(args.seeds, "--seeds")  # before any directory is made
    check_train_size(config, len(args.seeds or [None]))  # train() checks too; here before --out is made
    output_dir(args.out, "--out")

    threads = get_threads()  # what the package's policy set for this command: --threads, TNRNN_THREADS, else 1
    if args.seeds is not None:
        summary = train_ensemble(config, args.seeds, args.out, progress=progress(args), threads=threads)
    else:
        summary = train(config, args.out, progress=progress(args), threads=threads)
    print_json(summary)
    return 0
