"""``tnrnn linear-kernel``: empirical lag-space tangent kernel of a linear RNN vs the theory.

The theory is the infinite-width lag weights of Emami et al., "Implicit Bias of Linear RNNs"
(arXiv:2101.07833).
"""

from __future__ import annotations

import math

from tnrnn.cli._common import (
    add_json,
    add_max_bytes,
    check_device,
    finite_float,
    format_table,
    positive_int,
    print_json,
    seed_int,
)
from tnrnn.guards import check_bytes

HELP = "tangent kernel of a random linear RNN in lag space against the infinite-width lag weights"


def add_arguments(parser) -> None:
    parser.add_argument("--sigma-w", type=finite_float(0.0, low_open=True), required=True,
                        help="scale of the transition matrix W, > 0")
    parser.add_argument("--sigma-c", type=finite_float(0.0, low_open=True), default=1.0, help="scale of the readout C (default 1)")
    parser.add_argument("--sigma-f", type=finite_float(0.0, low_open=True), default=1.0,
                        help="scale of the input matrix F (default 1)")
    parser.add_argument("--width", "-n", type=positive_int, required=True, help="hidden width n")
    parser.add_argument("--lags", "-J", type=positive_int, required=True, help="number of lags J")
    parser.add_argument("--parameterization", choices=("ntk", "standard"), default="ntk",
                        help="ntk (default) or standard")
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of the random draw (default 0)")
    parser.add_argument("--device", default=None, help="torch device: cpu (default), cuda, cuda:N or mps")
    parser.add_argument("--full-kernel", action="store_true", help="with --json, include the full J x J kernel")
    add_max_bytes(parser)
    add_json(parser)


def run(args) -> int:
    from tnrnn.lenses.linear.kernel import kernel_comparison
    from tnrnn.lenses.linear.theory import decay_length

    check_device(args.device)
    # W (n x n) and its J powers' Jacobians: about 8 float64 arrays of n^2 and the J x J kernel per lag
    check_bytes(8 * (8 * args.width**2 + args.lags * args.width * 4 + 2 * args.lags**2),
                f"the tangent kernel of width {args.width} over {args.lags} lags", args.max_bytes)

    _check_finite_range(args)
    result = kernel_comparison(args.width, args.lags, args.sigma_w, args.sigma_c, args.sigma_f,
                               parameterization=args.parameterization, seed=args.seed, device=args.device)
    values = list(result.theory) + list(result.empirical) + [result.offdiag_ratio]
    if not all(math.isfinite(float(v)) for v in values):
        raise ValueError(f"--sigma-w {args.sigma_w:g} over {args.lags} lags: the kernel is not finite in float64 "
                         f"(overflow or underflow); use a smaller --sigma-w or fewer --lags")
    out = result.to_dict()
    out["decay_length"] = decay_length(args.sigma_w)
    if not args.full_kernel:
        del out["kernel"]
    if args.json:
        out["decay_length"] = None if out["decay_length"] == float("inf") else out["decay_length"]
        print_json(out)
        return 0
    rows = [[j, f"{t:.6g}", f"{e:.6g}", f"{r:.3%}"] for j, t, e, r in
            zip(result.lags, result.theory, result.empirical, result.relative_error)]
    print(f"linear RNN, {result.parameterization} parameterisation, width {result.width}, sigma_w={result.sigma_w}, "
          f"sigma_c={result.sigma_c}, sigma_f={result.sigma_f}, seed {result.seed}")
    print(format_table(["lag", "theory beta^2", "empirical Theta_jj", "rel. error"], rows))
    print(f"offdiag_ratio = ||Theta - diag Theta||_F / ||diag Theta||_F = {result.offdiag_ratio:.4f}")
    print(f"decay length -1/ln(sigma_w^2) = {out['decay_length']:.4g} lags; {result.seconds:.2f} s")
    return 0


#: Largest log10 of a lag weight accepted: float64 ends near 1e308, and the kernel sums width-many of them.
_MAX_LOG10_WEIGHT = 250.0


def _check_finite_range(args) -> None:
    """Refuse scales whose lag weights sigma_c^2 sigma_f^2 sigma_w^(2(j-1)) leave float64, before any work."""
    largest = 2 * (args.lags - 1) * max(math.log10(args.sigma_w), 0.0) + 2 * math.log10(args.sigma_c) \
        + 2 * math.log10(args.sigma_f) + math.log10(args.width)
    if largest > _MAX_LOG10_WEIGHT:
        raise ValueError(f"--sigma-w {args.sigma_w:g}, --sigma-c {args.sigma_c:g}, --sigma-f {args.sigma_f:g} over "
                         f"{args.lags} lags: lag weights up to about 1e{largest:.0f}, beyond float64 "
                         f"(about 1e308) once summed; use a smaller --sigma-w or fewer --lags")
