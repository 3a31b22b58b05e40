"""The figures of the time-scale experiment (matplotlib, imported on first use)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = [
    "plot_timescale_comparison",
]
_TAU_PLOT_CAP = 1e6


def plot_timescale_comparison(records: Sequence[dict], out_dir: str | Path, *,
                              prefix: str = "timescale") -> list[Path]:
    """Figures of a :func:`compare_gate_variants` run, one set per task.

    Writes ``{prefix}_<task>_<length>_loss.png`` (evaluation loss against step, with
    the memoryless baseline), ``{prefix}_<task>_<length>_hist.png`` (per-unit gate
    time scales before and after training, log axis, with the sequence length) and
    ``{prefix}_<task>_<length>_condition.png`` (R^2 of the gradient fit and implied
    gradient time scale against step).

    Parameters
    ----------
    records : sequence of dict
        As returned by :func:`compare_gate_variants`.
    out_dir : path
        Where the PNGs go (created if missing).
    prefix : str
        File-name prefix.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    from tnrnn import style

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    groups: dict[tuple[str, int], list[dict]] = {}
    for record in records:
        groups.setdefault((record["task"], record["length"]), []).append(record)
    written = []
    colors = style.PALETTE
    with style.context():
        for (task, length), runs in groups.items():
            stem = f"{prefix}_{task}_{length}"
            fig, ax = style.figure(figsize=(6.4, 4))
            for i, run in enumerate(runs):
                steps = [line["step"] for line in run["history"]]
                ax.plot(steps, [line["loss"] for line in run["history"]], color=colors[i % len(colors)],
                        label=run["variant"])
            ax.axhline(runs[0]["baseline_loss"], color="k", ls="--", lw=1, label="memoryless baseline")
            ax.set_yscale("log")
            ax.set_xlabel("training step")
            ax.set_ylabel("evaluation loss" + (" (MSE)" if task == "adding" else " (cross-entropy)"))
            ax.set_title(f"{task} (length {length}, T = {runs[0]['sequence_length']}): "
                         f"{runs[0]['cell'].upper()} width {runs[0]['hidden']}", fontsize=10)
            ax.legend(fontsize=7)
            fig.tight_layout()
            written.append(out / f"{stem}_loss.png")
            style.save(fig, written[-1])

            fig, axes = style.figure(len(runs), 1, figsize=(6.4, 1.3 * len(runs) + 0.8), sharex=True)
            axes = np.atleast_1d(axes)
            def per_unit(summary: dict) -> np.ndarray:  # None (tau = inf) and huge values drawn at the cap
                return np.array([_TAU_PLOT_CAP if v is None else min(v, _TAU_PLOT_CAP) for v in summary["per_unit"]])

            all_tau = np.concatenate([per_unit(r[k]) for r in runs for k in ("timescales_initial", "timescales_final")])
            bins = np.logspace(np.log10(max(all_tau.min(), 1e-2)), np.log10(all_tau.max()) + 1e-9, 30)
            for ax, run in zip(axes, runs):
                ax.hist(per_unit(run["timescales_initial"]), bins=bins, alpha=0.5, label="initial")
                ax.hist(per_unit(run["timescales_final"]), bins=bins, alpha=0.5, label="trained")
                ax.axvline(run["timescales_final"]["horizon"], color="k", ls="--", lw=1)
                ax.set_xscale("log")
                ax.set_ylabel("units", fontsize=8)
                ax.set_title(run["variant"], fontsize=8, loc="left")
            axes[0].legend(fontsize=7, loc="upper right")
            axes[-1].set_xlabel(r"gate time scale $\tau = -1/\ln f$ per unit (median over data and time; "
                                "dashed: T; " + r"$\tau > 10^{6}$ or $\infty$ drawn at $10^{6}$)", fontsize=8)
            fig.tight_layout()
            written.append(out / f"{stem}_hist.png")
            style.save(fig, written[-1])

            fig, (ax_r2, ax_tau) = style.figure(1, 2, figsize=(9, 4.4))
            for i, run in enumerate(runs):
                steps = [line["step"] for line in run["history"]]
                color = colors[i % len(colors)]
                r2 = [np.nan if line.get("fit_r2") is None else line["fit_r2"] for line in run["history"]]
                ts = [np.nan if line.get("fit_timescale") is None else line["fit_timescale"]
                      for line in run["history"]]
                ax_r2.plot(steps, r2, color=color, label=run["variant"])
                ax_tau.plot(steps, ts, color=color)
            ax_r2.axhline(0.9, color="k", ls=":", lw=1, label="R² threshold 0.9")
            ax_r2.set_xlabel("training step")
            ax_r2.set_ylabel(r"R² of the fit of $\ln\|\partial L/\partial c_{T-k}\|$")
            ax_tau.set_yscale("log")
            ax_tau.set_xlabel("training step")
            ax_tau.set_ylabel("gradient time scale 1/rate (steps)\n(gaps: no decay, rate <= 0)", fontsize=9)
            window = runs[0].get("diagnostic_loss_steps")
            scope = f"; loss on the last {window} steps, fit from lag {window}" if window else ""
            fig.suptitle(f"gradient condition during training: {task} (T = {runs[0]['sequence_length']}{scope})",
                         fontsize=10)
            fig.tight_layout(rect=(0, 0.13, 1, 1))
            fig.legend(*ax_r2.get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=7, frameon=False)
            written.append(out / f"{stem}_condition.png")
            style.save(fig, written[-1])
    return written
