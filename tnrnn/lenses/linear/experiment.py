"""Training equivalence and short-memory bias: a wide linear RNN beside its scaled convolution.

Synthetic data come from a target linear system given by its impulse response ``K*``
(a finite impulse response: a shift-register state-space system): white Gaussian inputs
``x_t ~ N(0, 1)``, targets ``y*_t = sum_j K*_j x_{t-j+1}`` (+ optional noise). Both models
are trained by full-batch gradient descent (``torch.optim.SGD``, same learning rate, same
data) on the mean squared error over all time steps, the scaled convolution starting from
the RNN's initial impulse response. Theory (:mod:`tnrnn.lenses.linear.theory`): their Markov parameters follow
the same path as width grows, and lag j converges at rate ``beta_j^2``, so errors grow with
the lag when ``sigma_w < 1``.

The RNN's outputs are computed as ``convolve(rnn.markov_parameters(T), x)``: the same
function as its recurrence (tested), O(T n^2 + batch T^2) per step instead of O(batch T n^2).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch

from tnrnn.lenses.linear.model import LinearRNN, ScaledConvolution, convolve, lagged_inputs
from tnrnn.lenses.linear.theory import check_lags, check_width
from tnrnn.nn.loop import run_steps

__all__ = ["default_target", "synthetic_data", "TrainingComparison", "train_side_by_side"]


def default_target(lags: int) -> np.ndarray:
    """An impulse response with short and long lags.

    A short part ``0.8^{j-1}`` decaying over the first few lags plus a long bump of height
    0.5 on lags ``round(2 lags/3) .. +2``.

    Examples
    --------
    >>> np.round(default_target(9), 3)
    array([1.   , 0.8  , 0.64 , 0.512, 0.41 , 0.828, 0.762, 0.71 , 0.168])
    """
    lags = check_lags(lags)
    j = np.arange(1, lags + 1)
    target = 0.8 ** (j - 1)
    start = max(2, round(2 * lags / 3))
    target[(j >= start) & (j <= start + 2)] += 0.5
    return target


def synthetic_data(target, n_sequences: int, length: int, *, noise: float = 0.0, seed: int = 0,
                   dtype: torch.dtype = torch.float64) -> tuple[torch.Tensor, torch.Tensor]:
    """Inputs ``x ~ N(0, 1)`` of shape (n_sequences, length, 1) and targets ``y* = K* * x (+ noise)``.

    Examples
    --------
    >>> x, y = synthetic_data([1.0, 0.5], 2, 4)
    >>> bool(torch.allclose(y[:, 1:, 0], x[:, 1:, 0] + 0.5 * x[:, :-1, 0]))
    True
    """
    target = np.asarray(target, dtype=np.float64)
    if target.ndim != 1 or target.size < 1 or not np.all(np.isfinite(target)):
        raise ValueError(f"target must be a non-empty 1-D array of finite floats, got shape {target.shape}")
    for name, value in (("n_sequences", n_sequences), ("length", length)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    if not noise >= 0:
        raise ValueError(f"noise must be >= 0, got {noise!r}")
    generator = torch.Generator().manual_seed(int(seed))
    x = torch.randn(n_sequences, length, 1, generator=generator, dtype=torch.float64)
    markov = torch.as_tensor(target, dtype=torch.float64)[:, None, None]
    y = convolve(markov, x)
    if noise:
        y = y + noise * torch.randn(y.shape, generator=generator, dtype=torch.float64)
    return x.to(dtype), y.to(dtype)


@dataclass
class TrainingComparison:
    """Histories of a linear RNN and its scaled convolution trained side by side.

    Attributes
    ----------
    steps : ndarray (R,)
        Gradient steps at which the histories were recorded (0 = initialisation).
    loss_rnn, loss_conv : ndarray (R,)
        Training MSE.
    markov_rnn, markov_conv : ndarray (R, J)
        Markov parameters ``K_1..K_J`` (J = sequence length).
    target : ndarray (J,)
    weights : ndarray (J,)
        The ``beta_j^2`` used by the scaled model.
    test_input, test_target, test_rnn, test_conv : ndarray (T,)
        One held-out sequence and both models' final predictions.
    width, sigma_w, sigma_c, sigma_f, parameterization, lr, seed, seconds, interrupted
    """

    steps: np.ndarray
    loss_rnn: np.ndarray
    loss_conv: np.ndarray
    markov_rnn: np.ndarray
    markov_conv: np.ndarray
    target: np.ndarray
    weights: np.ndarray
    test_input: np.ndarray
    test_target: np.ndarray
    test_rnn: np.ndarray
    test_conv: np.ndarray
    width: int
    sigma_w: float
    sigma_c: float
    sigma_f: float
    parameterization: str
    lr: float
    seed: int
    seconds: float
    interrupted: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def lag_error_rnn(self) -> np.ndarray:
        """``|K_j - K*_j|`` of the RNN after training, per lag."""
        return np.abs(self.markov_rnn[-1] - self.target)

    @property
    def lag_error_conv(self) -> np.ndarray:
        """``|K_j - K*_j|`` of the scaled convolution after training, per lag."""
        return np.abs(self.markov_conv[-1] - self.target)

    @property
    def markov_gap(self) -> np.ndarray:
        """Per recorded step: ``||K_rnn - K_conv|| / max(||K*||, ||K_rnn(0)||)``."""
        scale = max(np.linalg.norm(self.target), np.linalg.norm(self.markov_rnn[0]))
        return np.linalg.norm(self.markov_rnn - self.markov_conv, axis=1) / scale

    @property
    def theory_lag_error(self) -> np.ndarray:
        """Infinite-width prediction of the final ``|K_j - K*_j|``, diagonal approximation.

        With white unit inputs the training loss has Hessian ``h_j = 2 (T-j+1)/T`` in lag j
        (population value, off-diagonal terms neglected), so gradient descent on the scaled
        model shrinks the error of lag j by ``|1 - lr beta_j^2 h_j|`` per step.
        """
        length = self.target.size
        j = np.arange(1, length + 1)
        factor = np.abs(1 - self.lr * self.weights * 2 * (length - j + 1) / length)
        return np.abs(self.markov_conv[0] - self.target) * factor ** self.steps[-1]

    @property
    def prediction_gap(self) -> float:
        """``||y_rnn - y_conv|| / ||y*||`` on the held-out sequence."""
        return float(np.linalg.norm(self.test_rnn - self.test_conv) / np.linalg.norm(self.test_target))


def train_side_by_side(width: int, sigma_w: float, target=None, *, sigma_c: float = 1.0, sigma_f: float = 1.0,
                       parameterization: str = "ntk", length: int = 24, n_sequences: int = 256,
                       lr: float = 0.05, steps: int = 300, record_every: int = 10, noise: float = 0.0,
                       seed: int = 0, device: str | None = None, progress: bool = True) -> TrainingComparison:
    """Train a linear RNN and its scaled convolution on the same data with the same learning rate.

    Parameters
    ----------
    width : int
        Hidden width n of the RNN.
    sigma_w, sigma_c, sigma_f : float
    target : array_like, optional
        Target impulse response ``K*_1..K*_J`` (J <= length); default :func:`default_target` (length).
    parameterization : {'ntk', 'standard'}
        Of the RNN; the scaled model uses the matching ``beta_j^2``. For ``'standard'`` pass a
        learning rate of order 1/n.
    length, n_sequences : int
        Sequence length T (also the number of lags of the scaled model: exact, not truncated) and
        the training-set size.
    lr, steps, record_every : float, int, int
        Full-batch gradient descent settings (stepped by :func:`tnrnn.nn.loop.run_steps`);
        histories every ``record_every`` steps and at the end.
    noise : float
        Standard deviation of target noise.
    seed : int
        Seeds the RNN draw (``seed``), the training data (``seed + 1``) and the test sequence (``seed + 2``).
    device : str, optional
    progress : bool
        Show a tqdm bar. Ctrl-C stops training and returns the history so far (``interrupted=True``).

    Returns
    -------
    TrainingComparison

    Examples
    --------
    >>> r = train_side_by_side(64, 0.5, length=6, n_sequences=16, steps=20, record_every=10, progress=False)
    >>> r.steps.tolist(), r.markov_rnn.shape
    ([0, 10, 20], (3, 6))
    >>> bool(r.loss_rnn[-1] < r.loss_rnn[0])
    True
    """
    width, length = check_width(width), check_lags(length)
    target = default_target(length) if target is None else np.asarray(target, dtype=np.float64)
    if target.ndim != 1 or not 1 <= target.size <= length:
        raise ValueError(f"target must be a 1-D impulse response with 1..length={length} lags, got shape "
                         f"{target.shape}")
    target = np.pad(target, (0, length - target.size))
    if not (lr > 0 and np.isfinite(lr)):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    for name, value in (("steps", steps), ("record_every", record_every)):
        if isinstance(value, bool) or not isinstance(value, int) or value < (0 if name == "steps" else 1):
            raise ValueError(f"{name} must be a {'non-negative' if name == 'steps' else 'positive'} integer, "
                             f"got {value!r}")
    start = time.perf_counter()
    rnn = LinearRNN(width, sigma_w, sigma_c, sigma_f, parameterization=parameterization, seed=seed, device=device)
    conv = ScaledConvolution.from_rnn(rnn, length)
    x, y = synthetic_data(target, n_sequences, length, noise=noise, seed=seed + 1)
    x_test, y_test = synthetic_data(target, 1, length, seed=seed + 2)
    x, y, x_test = (t.to(rnn.transition.device) for t in (x, y, x_test))
    lagged = lagged_inputs(x, length)
    opt_rnn = torch.optim.SGD(rnn.parameters(), lr=lr)
    opt_conv = torch.optim.SGD(conv.parameters(), lr=lr)

    def rnn_loss():
        return torch.mean((convolve(rnn.markov_parameters(length), x, None, lagged) - y) ** 2)

    def conv_loss():
        return torch.mean((conv(x, lagged) - y) ** 2)

    def record(step: int, loss_r: float, loss_c: float) -> dict:
        with torch.no_grad():
            return {"steps": step, "loss_rnn": loss_r, "loss_conv": loss_c,
                    "markov_rnn": rnn.markov_parameters(length)[:, 0, 0].cpu().numpy().copy(),
                    "markov_conv": conv.markov_parameters()[:, 0, 0].cpu().numpy().copy()}

    # state["losses"]: both losses at the current parameters (in the graph), computed once per step and
    # used both to record and to descend; state["step"]: how many updates those parameters have had
    state: dict = {"losses": None, "step": 0}

    def forward() -> None:
        state["losses"] = (rnn_loss(), conv_loss())

    def evaluate(step: int) -> dict:
        if state["losses"] is None:  # step 0: the initial parameters
            forward()
        loss_r, loss_c = state["losses"]
        return record(step, loss_r.item(), loss_c.item())

    def descend(step: int) -> None:
        for optimizer, loss in zip((opt_rnn, opt_conv), state["losses"]):
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
        state["step"] = step
        forward()

    loop = run_steps(descend, steps, evaluate, every=record_every, desc=f"linear training sigma_w={sigma_w}",
                     progress=progress)
    lines = loop.history
    if loop.interrupted and (not loop.evaluated or loop.evaluated[-1] != state["step"]):
        with torch.no_grad():  # Ctrl-C: keep the parameters reached, recorded at the step they had
            lines.append(record(state["step"], rnn_loss().item(), conv_loss().item()))
    history = {key: [line[key] for line in lines]
               for key in ("steps", "loss_rnn", "loss_conv", "markov_rnn", "markov_conv")}
    with torch.no_grad():
        test_rnn = rnn(x_test)[0, :, 0].cpu().numpy()
        test_conv = conv(x_test)[0, :, 0].cpu().numpy()
    return TrainingComparison(
        steps=np.array(history["steps"]), loss_rnn=np.array(history["loss_rnn"]),
        loss_conv=np.array(history["loss_conv"]), markov_rnn=np.array(history["markov_rnn"]),
        markov_conv=np.array(history["markov_conv"]), target=target, weights=rnn.lag_weights(length),
        test_input=x_test[0, :, 0].cpu().numpy(), test_target=y_test[0, :, 0].numpy(), test_rnn=test_rnn,
        test_conv=test_conv, width=width, sigma_w=rnn.sigma_w, sigma_c=rnn.sigma_c, sigma_f=rnn.sigma_f,
        parameterization=parameterization, lr=float(lr), seed=int(seed), seconds=time.perf_counter() - start,
        interrupted=loop.interrupted)
