"""Write the tnrnn notebooks from their cell sources, and optionally execute them.

The notebooks are generated so that their code is reviewed as code. Each reads
``TNRNN_QUICK=1`` from the environment to shrink its sizes (that is what CI runs);
the committed copies are executed at full size::

    .venv/bin/python notebooks/build.py --execute      # full size, outputs saved
    TNRNN_QUICK=1 .venv/bin/python notebooks/build.py  # write only
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

HERE = Path(__file__).resolve().parent

SETUP = """\
import os
import warnings

import matplotlib.pyplot as plt

import tnrnn

warnings.filterwarnings("ignore", message="IProgress not found")  # tqdm.auto without ipywidgets
QUICK = os.environ.get("TNRNN_QUICK") == "1"  # CI runs the notebooks small
print("quick mode" if QUICK else "full size")"""


def md(text: str):
    return new_markdown_cell(text.strip())


def code(text: str):
    return new_code_cell(text.strip())


def nb01():
    return [
        md("""
# 01 · Start-End separation rank by depth

The **Start-End separation rank** of a function of a sequence `x_1..x_T` is the least number of
terms `g(x_1..x_{T/2}) g'(x_{T/2+1}..x_T)` that sum to it: how strongly a network can tie the first
half of a sequence to the second. For a Recurrent Arithmetic Circuit (RAC) with M templates, hidden
width R and depth L it equals the rank of the grid tensor's matricization (Y. Levine, O. Sharir,
A. Ziv, A. Shashua, *On the Long-Term Memory of Deep Recurrent Networks*, arXiv:1710.09431; A. Ziv,
*Depth Enables Long-Term Memory for Recurrent Neural Networks*, arXiv:2003.10163).

What is known (derivations on the documentation's *Concepts and theory* page):

| statement | status |
|---|---|
| depth 1: `sep = min(R, M^{T/2})` | proven (paper) |
| depth 2: `sep ≥ C(min(M,R) + T/2 − 1, T/2)` | proven (paper; lower bound) |
| depth L: `sep ≤ R · Π_l C(R + d_l − 1, d_l)` (lifted bound) | derived (upper bound) |
| any depth: `sep ≤ M^{T/2}` (trivial) | proven |

tnrnn computes the **generic** rank exactly (mod a large prime, at random integer weights): every
computed value is a proven lower bound of the generic rank; when it meets a proven upper bound it is
*certified* (equal to the generic rank). Otherwise the table shows the proven interval.
"""),
        code(SETUP),
        md("""
## Ranks against T for depth 1–4 (M = R = 3)

`max_block` caps the size of the exact block: cells above it are **skipped** (no computation;
`rank` is `None`) and only their proven interval `[lower, upper]` is reported."""),
        code("""
from tnrnn.tables.depth import plot_depth_table

M = R = 3
depths = [1, 2, 3, 4]
lengths = [2, 4, 6, 8] if QUICK else [2, 4, 6, 8, 10, 12, 14, 16, 20, 24, 32]
rows = tnrnn.depth_table(M, R, depths, lengths, draws=2, max_block=300 if QUICK else 6561, progress=False)


def cell(r):
    if r["rank"] is None:
        return f"skipped: [{r['lower']}, {r['upper']}]"
    return f"{r['rank']}" + ("" if r["certified"] else f" in [{r['lower']}, {r['upper']}]")


print(f"{'T':>3} | " + " | ".join(f"{'L=' + str(d):>22}" for d in depths))
for t in lengths:
    by_depth = {r["depth"]: r for r in rows if r["length"] == t}
    print(f"{t:>3} | " + " | ".join(f"{cell(by_depth[d]):>22}" for d in depths))
computed = [r for r in rows if r["rank"] is not None]
print(f"\\n{len(computed)} computed cells, {sum(r['certified'] for r in computed)} certified; "
      f"{len(rows) - len(computed)} skipped (proven interval only)")"""),
        md("""
Plain numbers are **certified** generic ranks; `a in [lo, hi]` is an exact rank at random weights
with the generic rank proven to lie in the interval; `skipped` cells were not computed. Depth 1
saturates at R = 3 at once (the paper's theorem); depth 2 grows with T; depth 3 and 4 follow the
trivial bound `M^{T/2}` as far as they can be computed.

In the figure, depth-3 and depth-4 ranks coincide where computed, so their markers overlap; skipped
cells show their proven interval as a bar. Solid lines are the best proven upper bound per depth, the dashed line the paper's
depth-2 lower bound, filled markers certified ranks, bars between their two ends proven intervals."""),
        code("""
fig = plot_depth_table(rows)  # a matplotlib Figure made without pyplot: display it
fig.set_dpi(90)
display(fig)"""),
        md("""
## Where the paper's depth-2 lower bound is loose

The paper proves `sep ≥ C(min(M,R) + T/2 − 1, T/2)` for depth 2. We compare it with the computed
generic ranks for M = R = 3 (from the table above) and for M = 2 < R = 3, where the bound only sees
`min(M, R) = 2`. The ratio uses the **proven** lower end of each generic rank (the exact rank found
at random weights); where that rank is not certified, the bar reaches up to the proven upper bound."""),
        code("""
cases = {(M, R): [r for r in rows if r["depth"] == 2 and r["rank"] is not None]}
lengths_23 = [2, 4, 6, 8] if QUICK else [2, 4, 6, 8, 10, 12, 14, 16, 20, 24]
cases[2, 3] = [r for r in tnrnn.depth_table(2, 3, [2], lengths_23, draws=2, progress=False) if r["rank"] is not None]
for (m, r_), case in cases.items():
    print(f"depth 2, M = {m}, R = {r_}")
    print(f"{'T':>3} {'generic rank':>18} {'paper lower':>12} {'rank/lower':>10} {'lifted upper':>13} "
          f"{'trivial M^(T/2)':>16}")
    for r in case:
        rank = str(r["rank"]) if r["certified"] else f"[{r['lower']}, {r['upper']}]"
        print(f"{r['length']:>3} {rank:>18} {r['depth2_lower']:>12} {r['lower'] / r['depth2_lower']:>10.2f} "
              f"{r['lifted_upper']:>13} {r['trivial_upper']:>16}")
    print()
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), dpi=90)
for (m, r_), case in cases.items():
    ts = [r["length"] for r in case]
    line, = axes[0].semilogy(ts, [r["lower"] for r in case], "o", label=f"generic rank, M={m}, R={r_}")
    axes[0].semilogy(ts, [r["depth2_lower"] for r in case], "--", color=line.get_color(),
                     label=f"paper lower bound, M={m}, R={r_}")
    axes[0].semilogy(ts, [r["lifted_upper"] for r in case], "-", color=line.get_color(), alpha=0.5,
                     label=f"lifted upper bound, M={m}, R={r_}")
    low = [r["lower"] / r["depth2_lower"] for r in case]
    high = [r["upper"] / r["depth2_lower"] for r in case]
    axes[1].errorbar(ts, low, yerr=[[0] * len(low), [h - lo for h, lo in zip(high, low)]], fmt="o-",
                     capsize=3, color=line.get_color(), label=f"M={m}, R={r_}")
axes[0].set_ylim(top=10 * max(r["upper"] for case in cases.values() for r in case))
axes[0].set_ylabel("Start-End separation rank")
axes[0].set_title("Depth 2: computed ranks and bounds")
axes[0].legend(fontsize=7)
axes[1].set_ylabel("generic rank / paper lower bound")
axes[1].set_title("How loose the proven lower bound is")
axes[1].legend(fontsize=8)
for ax in axes:
    ax.set_xlabel("sequence length T")
    ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()"""),
        md("""
**Reading.** For short sequences the trivial bound `M^{T/2}` binds and rank and lower bound nearly
coincide. For M = R the exact rank then follows the lifted upper bound and the ratio settles at
exactly `R` (here 3): `R·C(R+T/2−1, T/2) / C(R+T/2−1, T/2) = R`, so the paper's bound is loose by
the factor R and no more. For M = 2 < R = 3 the paper's bound grows only like `T/2 + 1` (degree
`min(M,R) − 1 = 1` in T) while the computed rank keeps growing with degree `R − 1 = 2`: the gap
grows without limit, roughly linearly in T (a lower end of the ratio is proven; the bar shows how
far the proven upper bound would allow it to go)."""),
        md("""
## The rank profile over cuts: the maximum is not at the middle

`tnrnn.rank_profile` computes the generic rank at every contiguous cut `k` (first k steps against
the rest), sharing the random weights across cuts."""),
        code("""
T = 10 if QUICK else 24
profile = tnrnn.rank_profile(tnrnn.RACSpec(M, R, 2), T, draws=2, progress=False)
d = profile.to_dict()
k_best = max(range(len(profile.cuts)), key=lambda i: profile.ranks[i])
print("cut k :", profile.cuts)
print("rank  :", profile.ranks)
print("all certified:", all(d["certified"]))
print(f"largest rank {profile.ranks[k_best]} at k = {profile.cuts[k_best]}; "
      f"Start-End cut k = {T // 2}: rank {profile.ranks[T // 2 - 1]}")
fig, ax = plt.subplots(figsize=(6.5, 3.6), dpi=90)
status = "all certified" if all(d["certified"]) else "exact rank at random weights"
ax.semilogy(profile.cuts, profile.ranks, "o-", label=f"generic rank at cut k ({status})")
ax.semilogy(profile.cuts, [min(M ** k, M ** (T - k)) for k in profile.cuts], ":", color="grey",
            label="trivial bound min(M^k, M^(T-k))")
ax.axvline(T // 2, color="k", ls="--", lw=1, label="Start-End cut k = T/2")
ax.plot([profile.cuts[k_best]], [profile.ranks[k_best]], "r*", ms=14, label="largest rank")
ax.set_ylim(1, 30 * max(profile.ranks))
ax.set_xlabel("cut position k (steps in the first part)")
ax.set_ylabel("separation rank")
ax.set_title(f"Depth-2 RAC, M = R = {M}, T = {T}")
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
plt.show()"""),
        md("""
**Reading.** The prefix count `M^k` caps the early cuts and the lifted bound of the remaining
suffix caps the later ones, so the largest rank sits where `M^k` first exceeds the suffix's bound —
well left of T/2. The Start-End cut measures the middle, not the most entangled cut. Every value in
this profile is certified (exact generic rank, as printed above); the random weights are shared
across cuts.

Sizes here are modest (a few minutes on 2 CPU cores); `tnrnn depth-table` and `tnrnn rank --profile`
go further (see the documentation pages on ranks and the CLI)."""),
    ]


def nb02():
    return [
        md("""
# 02 · RACs as tensor networks

A RAC over T steps is a tensor network (`tnrnn.tensor_network`, a quimb `TensorNetwork`). Depth 1
is a tensor train whose bonds are hyperedges (the element-wise product); `tnrnn.tn.network.to_mps`
turns it into a quimb `MatrixProductState`. For depth L > 1 every use of a lower layer's state needs
its own copy of the sub-network that computes it (a network cannot copy a vector), so the input `x_t`
appears `C(T−1−t+L−1, L−1)` times, all copies sharing the open index `x{t}` (a hyperedge).

This notebook compiles, draws and contracts shallow and deep RACs, compares the **min-cut** bound of
the network (an upper bound on the separation rank, proven by the cut argument) with the **exact
generic rank**, and measures what contracting the duplicated network costs as depth grows."""),
        code(SETUP),
        code("""
import numpy as np

from tnrnn.tn.contract import contract, plan_contraction
from tnrnn.tn.network import mincut_bound, network_structure, output_inds, to_mps, with_inputs"""),
        md("## Compile and contract"),
        code("""
T = 6
for depth in (1, 2):
    spec = tnrnn.RACSpec(templates=2, hidden=3, depth=depth)
    weights = tnrnn.RACWeights.gaussian(spec, seed=0)
    tn = tnrnn.tensor_network(weights, T)
    grid = tn.contract(output_inds=output_inds(T)).data  # name the open indices: they are hyperedges
    same = np.allclose(grid, tnrnn.grid_tensor(weights, T))
    copies = [len(tn.ind_map[f"x{t}"]) for t in range(T)]
    print(f"depth {depth}: {tn.num_tensors} tensors, uses of x_t per t = {copies}, "
          f"quimb contraction == grid_tensor: {same}")
    exact = contract(tnrnn.RACWeights.random_mod_p(spec, 2_147_483_647, seed=1), T, "start-end",
                     output="matrix")
    print(f"   exact contraction mod p of [A]_(S,E): shape {exact.shape}, dtype {exact.dtype}")"""),
        md("""
## With quimb's own calls

Because inputs and states are hyperedges, quimb needs the open indices named
(`output_inds(T)`). `hyperedges=False` inserts COPY tensors instead, so `outer_inds()` are the
inputs and a bare `contract()` works; `with_inputs` gives every use of an input its own feature
vector (a deep RAC is not multilinear in its inputs); `to_mps` gives depth 1 as a quimb
`MatrixProductState`, whose Schmidt values at the middle bond show its Start-End rank R."""),
        code("""
spec = tnrnn.RACSpec(templates=2, hidden=3, depth=2)
weights = tnrnn.RACWeights.gaussian(spec, seed=0)
plain = tnrnn.tensor_network(weights, T, hyperedges=False)
print("outer_inds:", sorted(plain.outer_inds()), "| COPY tensors:", len(plain.select_tensors("COPY")))
print("bare contract() == grid_tensor:",
      np.allclose(plain.contract().transpose(*output_inds(T)).data, tnrnn.grid_tensor(weights, T)))
features = np.random.default_rng(0).normal(size=(T, 2))
y = with_inputs(tnrnn.tensor_network(weights, T), features).contract(output_inds=())
print("with_inputs == evaluate_features:", np.isclose(y, tnrnn.evaluate_features(weights, features[None])[0]))
mps = to_mps(tnrnn.RACWeights.gaussian(tnrnn.RACSpec(2, 3, 1), seed=0), T)
mps.canonicalize_(T // 2)
schmidt = mps.schmidt_values(T // 2)
print(type(mps).__name__, "bond dims", mps.bond_sizes(), "| Schmidt values at the middle:",
      np.array2string(schmidt, precision=3))"""),
        md("""
## Drawing the networks

Time runs left to right; each chain of one layer is a row, copies of lower chains are stacked under
the layer that uses them. Tensors in S (first half) and E (second half) have different colours; the
bonds of a minimum S/E cut are red."""),
        code("""
import io

from IPython.display import Image, display

for depth in (1, 2):
    fig = tnrnn.draw_network(tnrnn.RACSpec(2, 3, depth), 4 if QUICK else 6, "start-end")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=70)  # a pyplot-free Figure: rendered explicitly
    display(Image(buffer.getvalue()))"""),
        md("""
## The min-cut picture against the true rank (depth 2)

The min-cut bound is the product of the bond dimensions cut by the cheapest S/E separation of the
network (networkx max-flow). It bounds the separation rank from above but ignores what the tensors
contain. The exact generic rank (`tnrnn.generic_rank`) is computed mod a prime; `certified` means it
meets a proven upper bound."""),
        code("""
spec = tnrnn.RACSpec(templates=3, hidden=3, depth=2)
lengths = [2, 4, 6] if QUICK else [2, 4, 6, 8, 10, 12, 16, 20]
table = []
for T in lengths:
    cut = mincut_bound(network_structure(spec, T), "start-end").value
    g = tnrnn.generic_rank(spec, T, draws=2)
    b = tnrnn.bounds(spec, T)
    table.append((T, cut, g.rank, g.certified, b.lifted_upper, b.trivial_upper))
print(f"{'T':>3} {'min-cut bound':>14} {'generic rank':>13} {'certified':>9} {'min-cut / rank':>15}")
for T, cut, rank, cert, _, _ in table:
    print(f"{T:>3} {cut:>14} {rank:>13} {str(cert):>9} {cut / rank:>15.1f}")
fig, ax = plt.subplots(figsize=(6.5, 3.8), dpi=90)
ax.semilogy(lengths, [r[1] for r in table], "s-", label="network min-cut bound (networkx)")
ax.semilogy(lengths, [r[2] for r in table], "o-", label="exact generic rank (computed)")
ax.semilogy(lengths, [r[4] for r in table], "--", label="lifted bound R·C(R+T/2-1, T/2)")
ax.semilogy(lengths, [r[5] for r in table], ":", lw=2, label="trivial bound M^(T/2)")
ax.set_xlabel("sequence length T")
ax.set_ylabel("Start-End separation rank")
ax.set_title("Depth-2 RAC, M = R = 3: min cut vs true rank")
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
plt.show()"""),
        md("""
**Reading.** The min cut of the duplicated network grows like `R^{T/2+1}` — exponentially in T —
— above even the trivial bound `M^{T/2}` here — while the true generic rank is the smaller of the
trivial and the lifted bound `R·C(R+T/2−1, T/2)`, which grows only polynomially in T.
The min cut is a valid upper bound, but the gap widens without limit: the network picture
overstates the memory of deep RACs because the copies of lower layers are not independent."""),
        md("""
## Contraction cost by depth

The duplicated network has O(T^L) tensors. For each depth we plan a contraction to the matricization
(`plan_contraction`, opt_einsum's greedy path) and report the planner's flop count and its largest
intermediate tensor (entries)."""),
        code("""
cost = []
shapes = {1: [4, 6, 8, 10, 12], 2: [4, 6, 8, 10, 12], 3: [4, 6, 8, 10], 4: [4, 6, 8]}
if QUICK:
    shapes = {1: [4, 6], 2: [4, 6], 3: [4], 4: [4]}
for depth, ts in shapes.items():
    for T in ts:
        plan = plan_contraction(tnrnn.RACSpec(2, 3, depth), T, "start-end", optimizer="greedy")
        cost.append((depth, T, len(plan.operand_inds), plan.flops, plan.largest_intermediate))
print(f"{'L':>2} {'T':>3} {'tensors':>8} {'flops':>10} {'largest':>9}")
for row in cost:
    print(f"{row[0]:>2} {row[1]:>3} {row[2]:>8} {row[3]:>10.3g} {row[4]:>9}")
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), dpi=90)
for depth in shapes:
    rs = [r for r in cost if r[0] == depth]
    axes[0].semilogy([r[1] for r in rs], [r[2] for r in rs], "o-", label=f"depth {depth}")
    axes[1].semilogy([r[1] for r in rs], [r[3] for r in rs], "o-", label=f"depth {depth}")
axes[0].set_ylabel("number of tensors")
axes[1].set_ylabel("contraction flops (opt_einsum count)")
for ax in axes:
    ax.set_xlabel("sequence length T")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
fig.suptitle("Duplicated RAC network, M = 2, R = 3 (greedy path)")
fig.tight_layout()
plt.show()"""),
        md("""
**Reading.** The number of tensors grows linearly in T at depth 1 and like T^L for depth L; the
flops of the best path grow with it (and the output itself has M^T entries). This is why tnrnn's
rank routes do not contract the duplicated network for long sequences: the scalable method works
through the state at the cut instead (documentation: *Computing ranks*, "Long sequences")."""),
    ]


def nb03():
    return [
        md("""
# 03 · Depth versus memory in trained orthogonal RNNs

The theory says a deep Recurrent Arithmetic Circuit can tie the start of a sequence to its end
far more strongly than a shallow one (Start-End separation ranks grow combinatorially with depth;
Levine, Sharir, Ziv & Shashua, arXiv:1710.09431; Ziv, arXiv:2003.10163). Does depth buy memory in
*trained* networks? This notebook reads the committed experiments, in the order they carry weight:

1. **The word-length sweep** (the headline): Start-End Similarity at T = 40 with the swept variable
   the word length m, that is how much the first half must hand to the second; orthogonal (scoRNN)
   modReLU networks of depth 1, 2 and 3 at about 4000 **free** parameters (an orthogonal R×R matrix
   counts R(R−1)/2), five seeds per point, trained with the published protocol (preset `paper`:
   RMSprop 1e-3 / 1e-4, batch 128, the plateau rule, a 50,000-step cap) and scored on a separate
   10,000-sample test set at the best-validation weights. The theory's prediction for each word
   length was written in the sweep's config before any run. The sweep is resumable and may be
   partly run: the cells say how many points are stored.
2. **A proven floor**: for RACs, Eckart–Young gives an error no depth-1 network can beat; trained
   depth-1 and depth-2 students are put beside it.
3. **The earlier runs** (a CPU-reduced protocol that differs from the published one where a depth
   comparison is decided), kept for what they show about trainability.

At the end it trains a small ensemble itself, to show the calls."""),
        code(SETUP),
        code("""
from pathlib import Path

import numpy as np

from tnrnn.experiments import ResultsStore, load_config
from tnrnn.experiments.report import (
    length_rows,
    plot_report,
    plot_word_length,
    summary_rows,
    word_length_rows,
)

RESULTS = Path("..") / "experiments" / "results"
CONFIGS = Path(tnrnn.__file__).parent / "experiments" / "configs"
stores = {name: RESULTS / f"{name}.sqlite" for name in ("ses_depth", "copying_depth")}
thresholds = {name: load_config(CONFIGS / f"{name}.toml", check_points=False).report["threshold"] for name in stores}
print({name: (path.exists(), thresholds[name]) for name, path in stores.items()})"""),
        md("""
## 1 · The word-length sweep: capacity as the swept variable

The label of a Start-End Similarity sequence is a threshold of the overlap count
k = #{i : a_i = b_i} between the two words, and k has Start-End rank exactly 1 + m(n − 1) over n
symbols. A depth-1 network of width R = 60 holds rank at most 60 (for RACs, a theorem); deeper
networks at the same number of free parameters reach ranks that grow combinatorially. So the
prediction: no depth effect at m = 2 (rank 63 ≈ R), depth 1 behind at m = 8 (249 ≈ 4R) and further
behind at m = 16 (497 ≈ 8R). The bound is proven for RACs, not for the modReLU networks trained
here: the sweep tests whether the capacity argument carries over."""),
        code("""
import tempfile

from IPython.display import Image, display

sweep_config = load_config(CONFIGS / "ses_word_length.toml", check_points=False)
predictions = sweep_config.report.get("predictions", {})
with ResultsStore(RESULTS / "ses_word_length.sqlite") as store:
    rows = word_length_rows(store, sweep_config.report["threshold"], predictions=predictions)
print(f"{sum(r['seeds'] for r in rows)} of {len(sweep_config.combinations())} points stored")
print(f"{'m':>3} {'L':>2} {'R':>3} {'rank needed':>11} {'mean':>6} {'95% interval':>15} {'>=0.9':>6}  ended")
for r in rows:
    print(f"{r['word_length']:>3} {r['depth']:>2} {r['hidden']:>3} {r['overlap_rank']:>11} {r['mean']:>6.3f} "
          f"[{r['low']:.3f}, {r['high']:.3f}] {r['reached']:>3}/{r['seeds']}  {r['ended']}")
for m in sorted({r["word_length"] for r in rows}):
    print(f"m = {m}: predicted before the runs: {predictions.get(str(m), '-')}")
figures = Path(tempfile.mkdtemp(prefix="tnrnn_nb03_figures_"))
if rows:
    display(Image(filename=str(plot_word_length(rows, figures / "word_length.png", threshold=0.9))))"""),
        md("""
Read a word length only when all three depths are stored for it: a prediction about depth is a
comparison between depths at one m. Every test score comes from the best-validation weights, and
the *ended* column says whether a run stopped by the plateau rule or at the 50,000-step cap (a
capped run may still have been improving).

## 2 · A proven floor beside trained students

A depth-1 RAC of width R has Start-End rank at most R, so by Eckart–Young no such network can fit a
target Y, on all M^T sequences equally, better than the energy of Y's Start-End spectrum beyond its
top R values. The teacher is a depth-2 RAC whose weights were optimised to spread its spectrum
(random teachers leave no gap); students of both depths at matched parameter counts are trained on
its exact outputs. A depth-1 student below the floor would contradict the theorem (a bug)."""),
        code("""
import json

from tnrnn.nn import floor

floor_result = json.loads((RESULTS / "floor.json").read_text())
print(floor.markdown(floor_result))
trials = RESULTS / "floor_trials.md"
if trials.exists():  # what was tried to bring the students down to the floor
    print(trials.read_text())"""),
        md("""
## 3 · The earlier runs (CPU-reduced protocol)

These came first, at 6000 steps with higher rates and final-weight scoring; the documentation's
*Depth versus memory* page lists how they differ from the published protocol. They are kept for
what they say about trainability at long lengths, not as the depth comparison.
"""),
        md("""
### Test accuracy per depth and length

Every row is one architecture at one length, over its seeds: mean ± sd of the **test** accuracy, a
95% percentile-bootstrap interval of the mean, how many seeds reach the threshold, and the steps
each needed (first validation check at or above it). A length counts as *solved* when more than
half of the seeds reach the threshold; the longest solved length is the longest T such that every
shorter T swept is solved too."""),
        code("""
def show(name):
    with ResultsStore(stores[name]) as store:
        rows = length_rows(store, thresholds[name])
        summary = summary_rows(store, thresholds[name])
    print(f"{name}: threshold {thresholds[name]} on test accuracy")
    print(f"{'L':>2} {'R':>3} {'free':>5} {'T':>4} {'mean':>6} {'sd':>6} {'95% interval':>15} {'seeds':>6} steps to threshold")
    for r in rows:
        steps = ", ".join("-" if s is None else str(s) for s in r["steps_to_threshold"])
        print(f"{r['depth']:>2} {r['hidden']:>3} {r['free_parameters']:>5} {r['length']:>4} {r['mean']:>6.3f} "
              f"{r['sd']:>6.3f} [{r['low']:.3f}, {r['high']:.3f}] {r['reached']:>3}/{r['seeds']} {steps}")
    print("longest solved:", {r["depth"]: r["longest_solved"] for r in summary})


show("ses_depth")"""),
        code("""
show("copying_depth")"""),
        code("""
for name in stores:
    for path in plot_report(stores[name], figures / name, threshold=thresholds[name]):
        display(Image(filename=str(path)))"""),
        md("""
Left: test accuracy, one dot per seed, the mean with its bootstrap band. Middle: the theory for
the same width and depth — the proven interval of the generic Start-End rank of a RAC over the
task alphabet at the task's length (log scale; depth 1 is exactly min(R, M^{T/2})). Right (SES):
the rank holding 99% of the energy of the trained network's Start-End matrix on the task's own
data (128 first halves × 128 second halves), beside the same rank for the task's optimal predictor.

### The task-data probe, one network at a time

`tnrnn.probe.task_probe` builds the N×N matrix of a network's class-2 logit over N first halves and
N second halves drawn from the task (all halves share one word offset, so every pair is a valid
input), and the same matrix for the optimal predictor (here the indicator of class 2). A float
rank of particular weights is not the architecture's generic rank; and an argmax classifier can be
accurate with a logit matrix of far lower rank than the indicator's, so low rank is not failure."""),
        code("""
from tnrnn import style

with ResultsStore(stores["ses_depth"]) as store:
    points = store.points(full=True)
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
for ax, length in zip(axes, (24, 144)):
    for depth in (1, 2, 3):
        best = max((p for p in points if p["depth"] == depth and p["length"] == length),
                   key=lambda p: p["test_accuracy"])
        probe = json.loads(best["result"])["task_probe"]
        s = np.asarray(probe["spectrum"])
        ax.semilogy(np.arange(1, len(s) + 1), s / s[0], color=style.depth_color(depth),
                    label=f"{style.depth_label(depth)} (seed {best['seed']}, test acc {best['test_accuracy']:.2f})")
    t = np.asarray(probe["target_spectrum"])
    ax.semilogy(np.arange(1, len(t) + 1), t / t[0], "k--", label="optimal predictor")
    ax.set(xlabel="index i", ylabel="σ_i / σ_1", title=f"SES T={length}: task-data Start-End spectrum",
           ylim=(1e-8, 2))
    ax.legend(fontsize=7, loc="lower left")
fig.tight_layout()
plt.show()"""),
        md("""
## Train an ensemble yourself

Points that differ only by seed train together: `train_ensemble` stacks the seeds' weights and runs
one batched pass per step, each member with its own initialisation, data, optimiser state, plateau
schedule and checkpoint; each member's directory is an ordinary run directory."""),
        code("""
from tnrnn.nn import TrainConfig, load_run, member_dir, train_ensemble
from tnrnn.probe import task_probe

# the published rates, batch and plateau rule; a short run and small sets, to show the calls
config = TrainConfig.preset("paper", task="ses", length=24, word_length=2, depth=2, hidden=36,
                            steps=20 if QUICK else 1500, eval_every=10 if QUICK else 250,
                            val_size=128 if QUICK else 4096, test_size=256 if QUICK else 4096)
workdir = tempfile.mkdtemp(prefix="tnrnn_nb03_")
result = train_ensemble(config, [0, 1, 2, 3, 4], workdir, progress=False)
for m in result["members"]:
    print(f"seed {m['seed']}: {m['steps']} steps, test accuracy {m['test_accuracy']:.3f}, "
          f"{m['free_parameters']} free / {m['parameters']} stored parameters")
print(f"{result['seconds']:.1f} s for the whole ensemble")
model, _, task = load_run(member_dir(workdir, 0))
probe = task_probe(model, task, pairs=32 if QUICK else 128, output_index=2)
print("energy ranks (network):", probe.energy_ranks, " (optimal predictor):", probe.target_energy_ranks)"""),
        md("""
**Reading.** *The word-length sweep* is read from its table above, one word length at a time and
only where every depth is stored, against the prediction printed beside it. *The floor*: no student
of either depth has come below the depth-1 floor, although the depth-2 students share the
teacher's architecture and could fit it exactly; training, not capacity, limits them (the trials
table, where present, says which strategies were tried and how far each got). *The earlier runs*
(6000 steps, final-weight scoring): depth 1 converges at T = 24 (test accuracy 0.861 ± 0.036,
4 of 5 seeds above 0.85); depth 2 solves one length more (T = 48, 3 of 5 seeds; depth 1 1 of 5),
but scored at its best-validation checkpoint (by validation accuracy) depth 1 reaches 0.85 with 2 of 5 there, and no mean test accuracy of depth 2
is above depth 1's at T ≥ 48 with separated intervals; copying is solved by every depth up to
B = 200. Those runs test long-range trainability more than capacity (two-symbol words), which is
why the word-length sweep replaced them as the depth comparison. The trained networks' task-data
Start-End matrices hold 99% of their energy in 1–26 singular values, and that rank tracks success
(Spearman 0.71 with test accuracy over the 60 SES networks).
"""),
    ]


def nb04():
    return [
        md("""
# 04 · Forget gates as time scales

An LSTM forget gate value `f` implies a memory time scale `τ = −1/ln f`. That reading is justified
only while the gradient of the loss with respect to the cell state decays exponentially going back
in time, `‖∂L/∂c_{T−k}‖ ∝ exp(−k/τ)` — the **gradient condition** (K. Ohno, A. Kumagai, *Recurrent Neural Networks for Learning
Long-term Temporal Dependencies with Reanalysis of Time Scale Representation*, arXiv:2111.03282). `tnrnn.lenses.timescale`
measures both on a model and task: the distribution of gate time scales over data, time and units,
and the gradient profile with a least-squares exponential fit. The verdict rule: the condition
*holds* when the fitted rate is > 0 and R² ≥ 0.9.

What is proven here: for a constant forget gate the rate is exactly `−ln f` (tested in
`tests/test_timescale.py`). Everything below is **measured** on one seed of a small LSTM on the
adding task; the variants are published gate constructions, each named by its origin."""),
        code(SETUP),
        code("""
import copy

import numpy as np
import torch

from tnrnn.lenses.timescale import (
    DEFAULT_VARIANTS,
    GradientConditionCallback,
    build_gated_model,
    diagnose,
    train_gated,
)
from tnrnn.nn import make_task

torch.set_num_threads(1)
T = 30 if QUICK else 100
HIDDEN = 8 if QUICK else 16
task = make_task("adding", T)
print(f"adding task, T = {T}, baseline MSE {task.baseline_loss:.4f}; LSTM width {HIDDEN}")"""),
        md("""
## Every gate variant at initialisation

Gate time scales (per-unit medians over a batch) and the gradient profile's exponential fit, for
each variant before any training."""),
        code("""
reports = {}
print(f"{'variant':40s} {'tau median':>10} {'tau q90':>8} {'fit rate':>9} {'R^2':>6} {'grad. tau':>9} condition")
for variant in DEFAULT_VARIANTS:
    model = build_gated_model(task, variant, hidden=HIDDEN, seed=0)
    rep = diagnose(model, task, batch_size=64, seed=0)
    reports[variant.name] = rep
    s, fit = rep.timescales, rep.profile.fit
    print(f"{variant.name:40s} {s.median:>10.3g} {s.q90:>8.3g} {fit.rate:>9.4f} {fit.r2:>6.3f} "
          f"{fit.timescale:>9.3g} {'holds' if fit.condition_holds else 'fails'}")"""),
        code("""
fig, axes = plt.subplots(1, 2, figsize=(11, 4), dpi=90)
bins = np.logspace(0, np.log10(max(10 * T, 100)), 30)
for name in ["sigmoid, bias 1 (Gers 2000)", "sigmoid, chrono (Tallec 2018)", "sigmoid, uniform (Gu 2020)"]:
    per_unit = np.asarray(reports[name].timescales.per_unit, dtype=float)
    axes[0].hist(np.clip(per_unit, 1, bins[-1]), bins=bins, alpha=0.5, label=name)
axes[0].axvline(T, color="k", ls="--", label=f"sequence length T = {T}")
axes[0].set_xscale("log")
axes[0].set_xlabel("per-unit gate time scale τ (steps)")
axes[0].set_ylabel("number of units")
axes[0].set_title("Gate time scales at initialisation")
axes[0].legend(fontsize=7)
for name in ["sigmoid, bias 1 (Gers 2000)", "sigmoid, chrono (Tallec 2018)", "fast sigma(sinh), chrono (Ohno 2023)"]:
    prof = reports[name].profile
    k = np.arange(len(prof.norms))
    line, = axes[1].semilogy(k, prof.norms, label=name)
    lo, hi = prof.fit.lags
    kk = np.arange(lo, hi + 1)
    axes[1].semilogy(kk, np.exp(prof.fit.intercept - prof.fit.rate * kk), "--", color=line.get_color(), lw=1)
axes[1].set_xlabel("lag k (steps before the end)")
axes[1].set_ylabel("‖∂L/∂c_{T−k}‖")
axes[1].set_title("Gradient profile (solid) and exponential fit (dashed)")
axes[1].legend(fontsize=7)
for ax in axes:
    ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()"""),
        md("""
## The chrono initialisation check

Chrono initialisation (Tallec & Ollivier 2018) sets `b_f = log u`, `u ~ U[1, T_max − 1]`, and
`b_i = −b_f`. At zero input and zero recurrent weights the gate is `f = u/(1+u)`, so
`τ = −1/ln(u/(1+u))` lies in `[1/ln 2, −1/ln(1 − 1/T_max)] ≈ [1.44, T_max − 0.5]` and is close to
`u + 1/2`. We check that the measured per-unit time scales fall in that range and follow the
uniform law, and that the input bias is the negative of the forget bias (PyTorch layout i, f, g, o)."""),
        code("""
variant = DEFAULT_VARIANTS[1]
model = build_gated_model(task, variant, hidden=64, seed=1)
bare = copy.deepcopy(model)
with torch.no_grad():
    for layer in bare.layers:
        layer.weight_ih.zero_()
        layer.weight_hh.zero_()
s = tnrnn.gate_timescales(bare, torch.zeros(4, T, task.input_size))
tau = np.sort(np.asarray(s.per_unit, dtype=float))
low, high = 1 / np.log(2), -1 / np.log(1 - 1 / T)
H = model.layers[0].weight_hh.shape[1]
b_i = model.layers[0].bias_ih[:H] + model.layers[0].bias_hh[:H]
b_f = model.layers[0].bias_ih[H:2 * H] + model.layers[0].bias_hh[H:2 * H]
print(f"per-unit tau in [{tau.min():.3f}, {tau.max():.3f}]; allowed [{low:.3f}, {high:.3f}]: "
      f"{bool(low - 1e-9 <= tau.min() and tau.max() <= high + 1e-9)}")
print(f"b_i == -b_f: {bool(torch.allclose(b_i, -b_f))}")
u_quantiles = 1 + (T - 2) * (np.arange(len(tau)) + 0.5) / len(tau)
expected = -1 / np.log(u_quantiles / (1 + u_quantiles))
print(f"max |tau - expected quantile| / T = {np.max(np.abs(tau - expected)) / T:.3f} (sampling noise, 64 units)")
fig, ax = plt.subplots(figsize=(5, 4), dpi=90)
ax.plot(expected, tau, "o", ms=3, label="64 units, chrono init")
ax.plot([low, high], [low, high], "k--", lw=1, label="y = x")
ax.set_xlabel("expected quantile of τ under u ~ U[1, T−1] (steps)")
ax.set_ylabel("measured per-unit τ (steps)")
ax.set_title(f"Chrono init, T_max = T = {T}")
ax.grid(alpha=0.3)
ax.legend()
plt.show()"""),
        md("""
## Training: does the condition survive learning?

Four variants are trained with Adam (lr 1e-2, batch 64, clip 1); `GradientConditionCallback`
refits the gradient profile at every evaluation."""),
        code("""
STEPS = 20 if QUICK else 1000
EVAL = 10 if QUICK else 50
chosen = [DEFAULT_VARIANTS[0], DEFAULT_VARIANTS[1], DEFAULT_VARIANTS[3], DEFAULT_VARIANTS[4]]
trained = {}
for variant in chosen:
    model = build_gated_model(task, variant, hidden=HIDDEN, seed=0)
    before = tnrnn.gate_timescales(model, task.sample(64, torch.Generator().manual_seed(0))[0])
    out = train_gated(model, task, steps=STEPS, eval_every=EVAL, seed=0, progress=False,
                      callbacks=[GradientConditionCallback(batch_size=32)])
    after = diagnose(model, task, batch_size=64, seed=0)
    trained[variant.name] = (out, before, after)
    if out["steps_to_solve"] is None:
        out["steps_to_solve"] = "never (within the budget)"
    print(f"{variant.name:40s} final MSE {out['final_loss']:.4f} (baseline {out['baseline_loss']:.4f}), "
          f"solved at step {out['steps_to_solve']}, tau median {before.median:.3g} -> {after.timescales.median:.3g}, "
          f"condition after training: {'holds' if after.profile.fit.condition_holds else 'fails'} "
          f"(rate {after.profile.fit.rate:.4f}, R^2 {after.profile.fit.r2:.3f})")"""),
        code("""
fig, axes = plt.subplots(1, 2, figsize=(11, 4), dpi=90)
for name, (out, _, _) in trained.items():
    hist = out["history"]
    axes[0].semilogy([h["step"] for h in hist], [h["loss"] for h in hist], "o-", ms=3, label=name)
    r2 = [(h["step"], h.get("fit_r2"), h.get("condition_holds")) for h in hist if h.get("fit_r2") is not None]
    line, = axes[1].plot([x[0] for x in r2], [x[1] for x in r2], "-", label=name)
    failed = [x for x in r2 if not x[2]]
    axes[1].plot([x[0] for x in failed], [x[1] for x in failed], "x", ms=9, color=line.get_color())
axes[0].axhline(task.baseline_loss, color="grey", ls="--", label="memoryless baseline 1/6")
axes[0].set_ylabel("evaluation MSE")
axes[0].set_title(f"Adding, T = {T}")
axes[1].axhline(0.9, color="grey", ls="--", label="R² threshold 0.9")
axes[1].plot([], [], "kx", label="condition fails (rate ≤ 0 or R² < 0.9)")
axes[1].set_ylabel("R² of the exponential fit")
axes[1].set_title("Gradient condition during training")
for ax in axes:
    ax.set_xlabel("training step")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
fig.tight_layout()
plt.show()"""),
        md("""
**Reading.** Initial time scales are set by the initialisation, not the gate's functional form:
chrono spreads them over `[1, T]`, bias 1 keeps them near 3 steps, uniform near 1. At initialisation
the gradient profile is close to exponential for every variant (the condition holds, R² ≥ 0.99),
with a gradient time scale of the order of the slow gates (about 5 steps for bias 1, 50–75 for
chrono). In this run (T = 100, width 16, one seed) the three chrono variants leave the baseline
after 300–450 steps and solve the task by step 450–500, while bias 1 stays at the baseline until
its last evaluations (it drops only at step 1000); once a variant has learnt the task its fitted rate turns negative (the gradient grows
back towards the marked inputs) and the condition fails, whereas it keeps holding while the model
sits at the baseline. This matches the seed paper's statement that the condition holds early in
training; the documentation's time-scale page (docs/lens-timescales.md) has the 7-variant experiment at T = 200 with two seeds.
One seed and a small model here: trends, not significance."""),
    ]


def nb05():
    return [
        md("""
# 05 · The short-memory bias of linear RNNs

A linear RNN `h_t = W h_{t−1} + F x_t`, `y_t = C h_t` is the convolution `y_t = Σ_j K_j x_{t−j+1}`
with Markov parameters `K_j = C W^{j−1} F`. In the NTK parameterisation
(`W = σ_W/√n · W̃`, `C = σ_C/√n · C̃`, `F = σ_F · F̃`) its tangent kernel in lag space tends, as the
width n → ∞, to the diagonal

`β_j² = (j+1) σ_C² σ_F² σ_W^{2(j−1)}`   (**derived**, `tnrnn/lenses/linear/theory.py`)

so gradient descent on the RNN is gradient descent on a scaled convolution in which lag j learns at
rate β_j²: geometrically slower beyond the decay length `−1/ln σ_W²` when σ_W < 1. This notebook
shows the lag weights, **measures** the empirical tangent kernel against them at two widths, and
trains an RNN and its scaled convolution side by side."""),
        code(SETUP),
        code("""
import numpy as np
import torch

from tnrnn.lenses.linear import decay_length, kernel_comparison, train_side_by_side

torch.set_num_threads(1)"""),
        md("## Lag weights β_j² against σ_W"),
        code("""
lags = np.arange(1, 41)
fig, ax = plt.subplots(figsize=(6.5, 4), dpi=90)
print(f"{'sigma_W':>7} {'decay length -1/ln sigma_W^2 (lags)':>36} {'beta_1^2':>9} {'beta_20^2':>10}")
for sw in (0.5, 0.8, 0.9, 0.95, 1.0):
    beta2 = tnrnn.lag_weights(len(lags), sigma_w=sw)
    ax.semilogy(lags, beta2, label=f"σ_W = {sw}")
    print(f"{sw:>7} {decay_length(sw):>36.3f} {beta2[0]:>9.3g} {beta2[19]:>10.3g}")
ax.set_xlabel("lag j")
ax.set_ylabel("β_j²  (learning rate of lag j, relative)")
ax.set_title("Infinite-width lag weights (NTK parameterisation, σ_C = σ_F = 1)")
ax.grid(alpha=0.3)
ax.legend()
plt.show()"""),
        md("""
## Empirical tangent kernel against the theory, at two widths

`kernel_comparison` draws one RNN and computes its lag kernel `Θ_jk` with `torch.func`. We average
over a few draws; the off-diagonal ratio `‖Θ − diag Θ‖_F / ‖diag Θ‖_F` is 0 in the limit."""),
        code("""
SIGMA_W, LAGS = 0.9, 8 if QUICK else 12
WIDTHS = (50, 200) if QUICK else (100, 1000)
DRAWS = 2 if QUICK else 5
fig, ax = plt.subplots(figsize=(6.5, 4), dpi=90)
theory = tnrnn.lag_weights(LAGS, sigma_w=SIGMA_W)
ax.plot(np.arange(1, LAGS + 1), theory, "k-", lw=2, label="theory β_j²")
for shift, width in zip((-0.1, 0.1), WIDTHS):
    results = [kernel_comparison(width, LAGS, sigma_w=SIGMA_W, seed=s) for s in range(DRAWS)]
    emp = np.array([r.empirical for r in results])
    ax.errorbar(np.arange(1, LAGS + 1) + shift, emp.mean(0), yerr=emp.std(0), fmt="o", capsize=3,
                label=f"empirical Θ_jj, n = {width} (mean ± sd, {DRAWS} draws)")
    rel = np.abs(emp.mean(0) - theory) / theory
    off = np.mean([r.offdiag_ratio for r in results])
    print(f"n = {width:5d}: mean rel. error of the averaged diagonal {rel.mean():.3f}, "
          f"mean off-diagonal ratio {off:.3f}")
ax.set_xlabel("lag j")
ax.set_ylabel("kernel diagonal Θ_jj")
ax.set_title(f"Tangent kernel in lag space, σ_W = {SIGMA_W}")
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
plt.show()"""),
        md("""
## Training side by side

The RNN (width n) and the scaled convolution `ŷ_t = Σ_j β_j K̃_j x_{t−j+1}` start from the same
impulse response and are trained by full-batch gradient descent on the same data: targets from an
impulse response with a short decaying part and a long bump at lags 16–18 (`default_target`)."""),
        code("""
WIDTH = 64 if QUICK else 1000
STEPS = 30 if QUICK else 300
comparisons = {}
for sw in (0.5, 0.9):
    r = train_side_by_side(WIDTH, sw, steps=STEPS, record_every=10, progress=False)
    comparisons[sw] = r
    print(f"sigma_W = {sw}: RNN loss {r.loss_rnn[0]:.4g} -> {r.loss_rnn[-1]:.4g}, "
          f"conv loss -> {r.loss_conv[-1]:.4g}, [{r.seconds:.1f} s]")
fig, axes = plt.subplots(1, 2, figsize=(11, 4), dpi=90)
for sw, r in comparisons.items():
    line, = axes[0].semilogy(r.steps, r.loss_rnn, "-", label=f"RNN, σ_W = {sw}")
    axes[0].semilogy(r.steps, r.loss_conv, "--", color=line.get_color(), label=f"scaled conv., σ_W = {sw}")
    j = np.arange(1, r.markov_rnn.shape[1] + 1)
    axes[1].plot(j, np.abs(r.markov_rnn[-1] - r.target), "-o", ms=3, color=line.get_color(),
                 label=f"RNN, σ_W = {sw}")
    axes[1].plot(j, np.abs(r.markov_conv[-1] - r.target), "--", color=line.get_color(),
                 label=f"scaled conv., σ_W = {sw}")
axes[0].set_xlabel("gradient step")
axes[0].set_ylabel("training loss (MSE)")
axes[0].set_title(f"Loss, RNN width n = {WIDTH}")
axes[1].set_yscale("log")
axes[1].set_xlabel("lag j")
axes[1].set_ylabel("|K_j − K*_j| after training")
axes[1].set_title("Error per lag: long lags are learnt last")
for ax in axes:
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)
fig.tight_layout()
plt.show()"""),
        md("""
**Reading.** β_j² falls geometrically beyond the decay length (0.72 lags at σ_W = 0.5, 4.7 at 0.9),
so within a fixed training budget the short lags are learnt and the long bump is not; at σ_W = 0.5
it keeps essentially its full error. The RNN and its scaled convolution end with the same shape of
error profile over lags (small at short lags, rising with the lag), as the kernel theory predicts; at finite width their loss curves separate somewhat
during training (the gap shrinks like n^{−1/2}, see docs/lens-linear.md). The measured kernel approaches the diagonal theory as n grows (the
off-diagonal ratio falls roughly like n^{−1/2}). One seed per width; see the documentation's linear-RNN page (docs/lens-linear.md)
for the full width sweep."""),
    ]


NOTEBOOKS = {
    "01_separation_rank_by_depth": nb01,
    "02_tensor_networks": nb02,
    "03_trained_orthogonal_rnns": nb03,
    "04_forget_gate_time_scales": nb04,
    "05_linear_rnn_memory_bias": nb05,
}


def write(name: str) -> Path:
    nb = new_notebook(cells=NOTEBOOKS[name](), metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}})
    path = HERE / f"{name}.ipynb"
    nbformat.write(nb, path)
    return path


def execute(path: Path, timeout: int = 1800) -> None:
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(HERE)}}).execute()
    nbformat.write(nb, path)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("names", nargs="*", default=list(NOTEBOOKS), help="notebooks to build")
    parser.add_argument("--execute", action="store_true", help="execute and save outputs")
    args = parser.parse_args(argv)
    for name in args.names:
        path = write(name)
        if args.execute:
            execute(path)
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
