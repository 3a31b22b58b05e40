"""The three figures of the linear-RNN lens, and a script that makes them.

``python -m tnrnn.lenses.linear.figures [--out DIR] [--quick]`` writes
``linear_kernel_convergence.png``, ``linear_training_equivalence.png`` and
``linear_lag_bias.png`` and prints the measured numbers (a few minutes on 2 CPU cores).
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

import numpy as np

from tnrnn._outputs import announce, check_replace_all, fresh_dir, prepare_dir
from tnrnn._threads import set_threads
from tnrnn.lenses.linear.theory import decay_length
from tnrnn.tables.format import format_table

#: The files :func:`main` writes.
FIGURES = ("linear_kernel_convergence.png", "linear_training_equivalence.png", "linear_lag_bias.png")

__all__ = ["plot_kernel_convergence", "plot_training_equivalence", "plot_lag_bias", "kernel_table", "main"]


def _styled(function):
    from tnrnn import style

    return style.styled(function)


def _save(fig, path) -> Path:
    from tnrnn import style

    return style.save(fig, path)  # atomic, at style.DPI


def _by_width(results):
    groups = defaultdict(list)
    for r in results:
        groups[r.width].append(r)
    return dict(sorted(groups.items()))


def kernel_table(results) -> str:
    """Theory vs empirical ``Theta_jj`` per lag (mean over seeds) for each width, as text."""
    groups = _by_width(results)
    lags = results[0].lags
    header = ["lag", "theory"] + [f"n={w} ({len(rs)} seeds)" for w, rs in groups.items()]
    rows = []
    for i, j in enumerate(lags):
        row = [j, f"{results[0].theory[i]:.4f}"]
        for rs in groups.values():
            values = np.array([r.empirical[i] for r in rs])
            spread = f" ± {values.std(ddof=1):.3f}" if len(values) > 1 else ""
            row.append(f"{values.mean():.4f}{spread}")
        rows.append(row)
    rows.append(["mean rel. err", ""] + [f"{np.mean([r.relative_error for r in rs]):.4f}" for rs in groups.values()])
    rows.append(["offdiag_ratio", ""] + [f"{np.mean([r.offdiag_ratio for r in rs]):.4f}" for rs in groups.values()])
    return format_table(header, rows)


@_styled
def plot_kernel_convergence(results, path="figures/linear_kernel_convergence.png") -> Path:
    """Left: theory ``beta_j^2`` and empirical ``Theta_jj`` per lag by width. Right: errors vs width.

    Parameters
    ----------
    results : list of KernelResult
        From :func:`~tnrnn.lenses.linear.kernel.kernel_sweep` (one sigma_w, several widths and seeds).
    path : path-like
    """
    groups = _by_width(results)
    first = results[0]
    from tnrnn import style

    fig, (ax1, ax2) = style.figure(1, 2, figsize=(style.WIDE[0], style.WIDE[1] + 1.2))
    lags = np.array(first.lags)
    ax1.plot(lags, first.theory, "k-", lw=2, label=r"theory $\beta_j^2=(j+1)\sigma_C^2\sigma_F^2\sigma_W^{2(j-1)}$"
             if first.parameterization == "ntk" else r"theory $\beta_j^2$ (standard)")
    colors = [style.color(i) for i in range(len(groups))]
    offsets = np.linspace(-0.25, 0.25, len(groups)) if len(groups) > 1 else [0.0]
    for color, offset, (width, rs) in zip(colors, offsets, groups.items()):
        values = np.array([r.empirical for r in rs])
        err = values.std(0, ddof=1) if len(rs) > 1 else None
        ax1.errorbar(lags + offset, values.mean(0), yerr=err, fmt="o", ms=4, color=color, capsize=2,
                     label=f"empirical, n={width} (mean ± sd, {len(rs)} draws)")
    ax1.set_xlabel("lag j (points shifted sideways by width for legibility)")
    ax1.set_ylabel(r"kernel diagonal $\Theta_{jj}$")
    ax1.set_title(f"lag-space tangent kernel, {first.parameterization}, $\\sigma_W$={first.sigma_w}")
    style.legend_outside(ax1, where="below", ncol=2, fontsize=7)
    widths = np.array(list(groups))
    rel = np.array([np.mean([r.relative_error for r in rs]) for rs in groups.values()])
    off = np.array([np.mean([r.offdiag_ratio for r in rs]) for rs in groups.values()])
    ax2.loglog(widths, rel, "o-", label=r"mean$_j$ $|\Theta_{jj}-\beta_j^2|/\beta_j^2$")
    ax2.loglog(widths, off, "s-", label=r"offdiag_ratio $\|\Theta-\mathrm{diag}\,\Theta\|_F/\|\mathrm{diag}\,\Theta\|_F$")
    ax2.loglog(widths, off[0] * np.sqrt(widths[0] / widths), "k:", label=r"$\propto n^{-1/2}$")
    ax2.set_xlabel("width n")
    ax2.set_ylabel("deviation from the infinite-width kernel")
    ax2.set_title(f"convergence over width (lags 1..{len(lags)}, mean over draws)")
    style.legend_outside(ax2, where="below", ncol=1, fontsize=7)
    fig.tight_layout()
    out = _save(fig, path)
    return out


@_styled
def plot_training_equivalence(result, path="figures/linear_training_equivalence.png") -> Path:
    """Loss, learned impulse responses, predictions and the RNN-vs-scaled-model gap of one run."""
    from tnrnn import style

    fig, axes = style.figure(2, 2, figsize=(style.WIDE[0], 7.5))
    r = result
    lags = np.arange(1, r.target.size + 1)
    ax = axes[0, 0]
    ax.semilogy(r.steps, r.loss_rnn, "-", lw=2.5, alpha=0.6, label=f"linear RNN (n={r.width})")
    ax.semilogy(r.steps, r.loss_conv, "k--", label="scaled convolution")
    ax.set_xlabel("gradient step")
    ax.set_ylabel("training MSE")
    ax.set_title(f"same data, same learning rate {r.lr}")
    style.legend_outside(ax)
    ax = axes[0, 1]
    ax.plot(lags, r.target, "-", color="0.6", lw=4, label="target $K^*_j$")
    ax.plot(lags, r.markov_rnn[0], ":", color=style.color(5), label="initial $K_j$ (both)")
    ax.plot(lags, r.markov_rnn[-1], "o", color=style.color(0), label="RNN, trained")
    ax.plot(lags, r.markov_conv[-1], "k+", ms=9, label="scaled conv., trained")
    ax.set_xlabel("lag j")
    ax.set_ylabel("Markov parameter $K_j = C W^{j-1} F$")
    ax.set_title(f"learned impulse response after {r.steps[-1]} steps")
    style.legend_outside(ax)
    ax = axes[1, 0]
    t = np.arange(1, r.test_target.size + 1)
    ax.plot(t, r.test_target, "-", color="0.6", lw=4, label="target $y^*_t$")
    ax.plot(t, r.test_rnn, "o-", color=style.color(0), ms=4, label="RNN")
    ax.plot(t, r.test_conv, "k+", ms=9, label="scaled conv.")
    ax.set_xlabel("time step t (held-out sequence)")
    ax.set_ylabel("output")
    ax.set_title(f"predictions: ||y_RNN - y_conv|| / ||y*|| = {r.prediction_gap:.2g}")
    style.legend_outside(ax)
    ax = axes[1, 1]
    ax.plot(r.steps, r.markov_gap, "-")
    ax.set_xlabel("gradient step")
    ax.set_ylabel(r"$\|K_{RNN}-K_{conv}\| \,/\, \max(\|K^*\|, \|K(0)\|)$")
    ax.set_title("gap between the two models' impulse responses")
    fig.suptitle(f"linear RNN vs scaled convolution, {r.parameterization} parameterisation, "
                 f"$\\sigma_W$={r.sigma_w}, $\\sigma_C$={r.sigma_c}, $\\sigma_F$={r.sigma_f}")
    fig.tight_layout()
    out = _save(fig, path)
    return out


@_styled
def plot_lag_bias(results, path="figures/linear_lag_bias.png") -> Path:
    """Final error per lag for several sigma_w (RNN, scaled model, diagonal theory) and their ``beta_j^2``."""
    from matplotlib.lines import Line2D

    from tnrnn import style

    fig, (ax1, ax2) = style.figure(1, 2, figsize=(style.WIDE[0], style.WIDE[1] + 1.0))
    floor = 1e-10
    for color, r in zip(style.PALETTE, results):
        lags = np.arange(1, r.target.size + 1)
        ax1.semilogy(lags, np.maximum(r.lag_error_rnn, floor), "o", color=color, ms=4)
        ax1.semilogy(lags, np.maximum(r.lag_error_conv, floor), "-", color=color)
        ax1.semilogy(lags, np.maximum(r.theory_lag_error, floor), ":", color=color, lw=2)
        ax2.semilogy(lags, r.weights, "-o", ms=3, color=color,
                     label=f"$\\sigma_W$={r.sigma_w} (decay length {decay_length(r.sigma_w):.3g})")
    ax1.set_xlabel("lag j")
    ax1.set_ylabel(r"$|K_j - K^*_j|$ after training (floored at 1e-10)")
    ax1.set_title(f"error per lag after {results[0].steps[-1]} steps, lr {results[0].lr}; colours as right")
    markers = [Line2D([], [], color="k", marker="o", ls="", ms=4, label=f"linear RNN (n={results[0].width})"),
             Line2D([], [], color="k", ls="-", label="scaled convolution"),
             Line2D([], [], color="k", ls=":", lw=2, label="diagonal theory")]
    style.legend_outside(ax1, where="below", handles=markers)
    ax2.set_xlabel("lag j")
    ax2.set_ylabel(r"lag weight $\beta_j^2$ (rate at which lag j is learned)")
    ax2.set_title("why: infinite-width lag weights")
    style.legend_outside(ax2, where="below", ncol=2)
    fig.tight_layout()
    out = _save(fig, path)
    return out


def main(argv: list[str] | None = None) -> int:
    """Make the three figures and print the measured numbers."""

    from tnrnn.lenses.linear.experiment import train_side_by_side
    from tnrnn.lenses.linear.kernel import kernel_sweep

    parser = argparse.ArgumentParser(prog="python -m tnrnn.lenses.linear.figures", description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=None,
                        help="output folder (default: a fresh tnrnn-linear-TIME directory, printed)")
    parser.add_argument("--force", action="store_true", help="replace existing figures in --out")
    parser.add_argument("--quick", action="store_true", help="small widths and few steps (smoke run)")
    parser.add_argument("--threads", type=int, default=1, help="torch threads (default 1: fastest on a busy CPU)")
    args = parser.parse_args(argv)

    set_threads(args.threads)

    if args.out is None:
        out = fresh_dir("linear")
        announce("linear", out)
    else:
        check_replace_all([Path(args.out) / name for name in FIGURES], "--out", args.force)
        out = prepare_dir(args.out)

    if args.quick:
        results = kernel_sweep([50, 200], 12, 0.9, seeds=range(2))
    else:  # more draws where they are cheap
        results = kernel_sweep([100, 300, 1000], 12, 0.9, seeds=range(8))
        results += kernel_sweep([2000, 4000], 12, 0.9, seeds=range(3))
    print(kernel_table(results))
    print("wrote", plot_kernel_convergence(results, out / "linear_kernel_convergence.png"))

    width = 200 if args.quick else 1000
    steps = 40 if args.quick else 300
    runs = [train_side_by_side(width, sigma_w, length=24, steps=steps, lr=0.05, seed=0) for sigma_w in (0.5, 0.9, 1.0)]
    for r in runs:
        print(f"sigma_w={r.sigma_w}: loss RNN {r.loss_rnn[0]:.4g} -> {r.loss_rnn[-1]:.4g}, conv {r.loss_conv[-1]:.4g}; "
              f"max impulse-response gap {r.markov_gap.max():.4f}; prediction gap {r.prediction_gap:.4f}; "
              f"{r.seconds:.1f} s")
        print("   |K_j - K*_j| RNN :", np.array2string(r.lag_error_rnn, precision=3, max_line_width=200))
        print("   |K_j - K*_j| conv:", np.array2string(r.lag_error_conv, precision=3, max_line_width=200))
    print("wrote", plot_training_equivalence(runs[1], out / "linear_training_equivalence.png"))
    print("wrote", plot_lag_bias(runs, out / "linear_lag_bias.png"))
    return 0


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
