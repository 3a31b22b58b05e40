"""Empirical tangent kernel of a linear RNN in lag space, against the theory.

``Theta_jk = sum_p dK_j/dp dK_k/dp`` over the trained parameters p (``transition``,
``input_map``, ``readout``), ``K_j = C W^{j-1} F`` the Markov parameters of a scalar
(input_size = output_size = 1) RNN. The direct term, if any, is left out: it only moves
``K_0`` and adds an exactly decoupled ``Theta_00 = 1``.

Off-diagonal mass
-----------------
``offdiag_ratio(Theta) = ||Theta - diag(Theta)||_F / ||diag(Theta)||_F``
``= sqrt(sum_{j != k} Theta_jk^2) / sqrt(sum_j Theta_jj^2)``: 0 for a diagonal kernel
(the infinite-width limit), O(n^-1/2) at width n.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import torch
from torch.func import jacrev, jvp, vjp, vmap

from tnrnn.guards import RAISE_MEMORY, SizeLimitError, memory_limit
from tnrnn.lenses.linear.model import LinearRNN, impulse_response
from tnrnn.lenses.linear.theory import check_lags, check_parameterization, check_sigma, check_width

__all__ = ["KernelResult", "empirical_kernel", "offdiag_ratio", "kernel_comparison", "kernel_sweep",
           "kernel_memory_bytes"]


_PARAMETERS = ("transition", "input_map", "readout")


def offdiag_ratio(kernel: np.ndarray) -> float:
    """Off-diagonal Frobenius mass over diagonal mass (module docstring).

    Examples
    --------
    >>> offdiag_ratio(np.array([[3.0, 0.0], [0.0, 4.0]]))
    0.0
    >>> offdiag_ratio(np.array([[3.0, 1.0], [1.0, 4.0]]))  # sqrt(2) / 5
    0.282842...
    """
    kernel = np.asarray(kernel, dtype=np.float64)
    if kernel.ndim != 2 or kernel.shape[0] != kernel.shape[1]:
        raise ValueError(f"kernel must be a square matrix, got shape {kernel.shape}")
    diagonal = np.diag(kernel)
    return float(np.linalg.norm(kernel - np.diag(diagonal)) / np.linalg.norm(diagonal))


def kernel_memory_bytes(width: int, lags: int, chunk_size: int = 1) -> int:
    """Rough peak memory of :func:`empirical_kernel` (bytes, float64).

    The parameters, one cotangent per vmapped column and the autograd tape of the lag
    products (``lags`` vectors of size n per column) plus a few n x n temporaries.
    """
    n = width
    return 8 * ((4 + 2 * chunk_size) * (n * n + 2 * n) + 4 * chunk_size * lags * n)


def _markov_function(rnn: LinearRNN, lags: int):
    """Markov parameters as a function of the raw (trained) parameters, for torch.func."""
    def markov(params):
        W, F, C = (rnn.multipliers[name] * params[name] for name in _PARAMETERS)
        return impulse_response(W, F, C, lags)[:, 0, 0]

    return markov


def empirical_kernel(rnn: LinearRNN, lags: int, *, method: str = "auto", chunk_size: int | None = None) -> np.ndarray:
    """The lag-space tangent kernel ``Theta`` (lags x lags) of a scalar linear RNN at its current parameters.

    Parameters
    ----------
    rnn : LinearRNN
        With ``input_size == output_size == 1``.
    lags : int
    method : {'auto', 'jacobian', 'jvp'}
        ``'jacobian'``: the full Jacobian ``J`` (lags x #params) by ``torch.func.jacrev``, then
        ``J J^T``; memory lags * n^2. ``'jvp'``: column k of ``Theta`` as ``J (J^T e_k)``, a
        ``torch.func.vjp`` then a ``torch.func.jvp``, vmapped over k in chunks; memory
        chunk_size * n^2. ``'auto'`` takes the Jacobian when it fits in 256 MiB.
    chunk_size : int, optional
        Columns per vmap chunk for ``'jvp'`` (default: as many as fit in 256 MiB, at least 1).

    Returns
    -------
    ndarray, shape (lags, lags), float64, symmetric positive semi-definite.

    Notes
    -----
    Both methods cost O(lags^2 n^2) time.

    Examples
    --------
    >>> rnn = LinearRNN(30, sigma_w=0.8, seed=0)
    >>> a = empirical_kernel(rnn, 4, method="jacobian")
    >>> b = empirical_kernel(rnn, 4, method="jvp", chunk_size=2)
    >>> bool(np.allclose(a, b, rtol=1e-12, atol=1e-12))
    True
    """
    lags = check_lags(lags)
    if rnn.input_size != 1 or rnn.output_size != 1:
        raise ValueError(f"empirical_kernel needs a scalar RNN (input_size = output_size = 1), got "
                         f"input_size={rnn.input_size}, output_size={rnn.output_size}")
    if method not in ("auto", "jacobian", "jvp"):
        raise ValueError(f"method must be 'auto', 'jacobian' or 'jvp', got {method!r}")
    params = {name: getattr(rnn, name).detach() for name in _PARAMETERS}
    n_params = sum(p.numel() for p in params.values())
    budget = 256 * 2**20
    if method == "auto":
        method = "jacobian" if 8 * lags * n_params <= budget else "jvp"
    markov = _markov_function(rnn, lags)
    if method == "jacobian":
        jac = jacrev(markov)(params)
        flat = torch.cat([jac[name].reshape(lags, -1) for name in _PARAMETERS], dim=1)
        kernel = flat @ flat.T
    else:
        if chunk_size is None:
            chunk_size = max(1, min(lags, budget // (8 * 3 * n_params)))
        _, pullback = vjp(markov, params)

        def column(unit):
            (cotangent,) = pullback(unit)
            return jvp(markov, (params,), (cotangent,))[1]

        basis = torch.eye(lags, dtype=params["transition"].dtype, device=params["transition"].device)
        kernel = vmap(column, chunk_size=chunk_size)(basis).T
    kernel = kernel.detach().cpu().numpy().astype(np.float64)
    return 0.5 * (kernel + kernel.T)


@dataclass
class KernelResult:
    """Empirical vs theoretical lag weights of one linear RNN draw.

    Attributes
    ----------
    lags : list of int
        1..J.
    theory, empirical : list of float
        ``beta_j^2`` and the empirical ``Theta_jj``.
    relative_error : list of float
        ``|empirical - theory| / theory`` per lag.
    offdiag_ratio : float
        See :func:`offdiag_ratio`.
    kernel : list of list of float
        The full empirical ``Theta``.
    width, seed, parameterization, sigma_w, sigma_c, sigma_f, seconds
    """

    lags: list
    theory: list
    empirical: list
    relative_error: list
    offdiag_ratio: float
    kernel: list
    width: int
    seed: int
    parameterization: str
    sigma_w: float
    sigma_c: float
    sigma_f: float
    seconds: float

    @property
    def max_relative_error(self) -> float:
        return float(max(self.relative_error))

    def to_dict(self) -> dict:
        out = asdict(self)
        out["max_relative_error"] = self.max_relative_error
        return out


def kernel_comparison(width: int, lags: int, sigma_w: float, sigma_c: float = 1.0, sigma_f: float = 1.0, *,
                      parameterization: str = "ntk", seed: int = 0, device: str | None = None,
                      max_bytes: int | None = None) -> KernelResult:
    """Draw a scalar linear RNN and compare its empirical lag kernel with the theory.

    Parameters
    ----------
    width, lags : int
    sigma_w, sigma_c, sigma_f : float
    parameterization : {'ntk', 'standard'}
    seed : int
    device : str, optional
        Torch device (default CPU).
    max_bytes : int, optional
        Memory guard (default :func:`tnrnn.guards.memory_limit`), checked before allocating.

    Returns
    -------
    KernelResult

    Raises
    ------
    ValueError
        Bad arguments, or a width whose kernel would need more than ``max_bytes``.

    Examples
    --------
    >>> r = kernel_comparison(200, 3, sigma_w=0.9, seed=0)
    >>> r.lags, [round(t, 3) for t in r.theory]
    ([1, 2, 3], [2.0, 2.43, 2.624])
    >>> r.max_relative_error < 0.5 and r.offdiag_ratio < 0.5
    True
    """
    width, lags = check_width(width), check_lags(lags)
    sigmas = [check_sigma(name, value) for name, value in
              (("sigma_w", sigma_w), ("sigma_c", sigma_c), ("sigma_f", sigma_f))]
    check_parameterization(parameterization)
    limit = memory_limit(max_bytes)
    need = kernel_memory_bytes(width, lags)
    if need > limit:
        raise SizeLimitError(f"width={width} needs about {need / 2**30:.3g} GiB for the n x n transition and its "
                             f"tangents, over the limit of {limit / 2**30:.3g} GiB ({RAISE_MEMORY}); use a "
                             f"smaller width")
    start = time.perf_counter()
    rnn = LinearRNN(width, *sigmas, parameterization=parameterization, seed=seed, device=device)
    kernel = empirical_kernel(rnn, lags)
    theory = rnn.lag_weights(lags)
    empirical = np.diag(kernel).copy()
    return KernelResult(
        lags=list(range(1, lags + 1)), theory=theory.tolist(), empirical=empirical.tolist(),
        relative_error=(np.abs(empirical - theory) / theory).tolist(),
        offdiag_ratio=offdiag_ratio(kernel), kernel=kernel.tolist(), width=width, seed=int(seed),
        parameterization=parameterization, sigma_w=sigmas[0], sigma_c=sigmas[1], sigma_f=sigmas[2],
        seconds=time.perf_counter() - start)


def kernel_sweep(widths, lags: int, sigma_w: float, sigma_c: float = 1.0, sigma_f: float = 1.0, *,
                 seeds=(0,), parameterization: str = "ntk", device: str | None = None,
                 progress: bool = True) -> list[KernelResult]:
    """:func:`kernel_comparison` over widths x seeds, with a progress bar.

    Interrupting (Ctrl-C) returns the results finished so far.
    """
    from tqdm.auto import tqdm

    jobs = [(int(w), int(s)) for w in widths for s in seeds]
    for w, _ in jobs:
        check_width(w)
    results: list[KernelResult] = []
    try:
        for width, seed in tqdm(jobs, desc="linear kernel", disable=not progress):
            results.append(kernel_comparison(width, lags, sigma_w, sigma_c, sigma_f,
                                             parameterization=parameterization, seed=seed, device=device))
    except KeyboardInterrupt:
        pass
    return results



def __getattr__(name: str):
    from tnrnn._moved import moved_name

    return moved_name(__name__, name)  # DEFAULT_MAX_BYTES: one constant, in tnrnn.guards
