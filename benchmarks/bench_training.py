"""Training speed of tnrnn's orthogonal RNN vs a reference written the way expRNN does it.

Copying task (Arjovsky convention, delay B=1000 -> T=1020), modReLU cell, hidden 190,
batch 128, RMSprop (lr 1e-3, orthogonal lr 1e-4), gradient clipping 1, CPU.

- **tnrnn**: :func:`tnrnn.nn.build_model` + the exact step of :func:`tnrnn.nn.train`
  (orthogonal map evaluated once per forward pass through ``torch.nn.utils.parametrize``,
  input projections of all steps in one matrix product, fused ``addmm`` per step).
- **reference**: an ``OrthogonalRNN`` cell as in expRNN (Lezcano-Casado & Martínez-Rubio
  2019, ``github.com/Lezcano/expRNN``): a per-step cell module with an ``input_kernel``
  ``nn.Linear``, a ``recurrent_kernel`` whose orthogonal matrix ``B = base · exp(A)`` is
  computed once per batch (cached until the next optimiser step), and a ``modrelu``
  module; the unrolled loop calls the cell once per time step.

Both start from the same weights, see the same batches and use the same optimiser, so their
loss curves must agree up to float rounding: the script prints max |loss difference|.

Run::

    .venv/bin/python benchmarks/bench_training.py            # B=1000, 5 timed steps each
    .venv/bin/python benchmarks/bench_training.py --steps 3 --delay 200   # quicker
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from tnrnn.nn import TrainConfig, build_model
from tnrnn.nn.training import _optimizer


class ExpRNNOrthogonal(nn.Module):
    """expRNN's orthogonal kernel: ``B = base @ exp(A - A^T)`` (A lower triangular), cached per batch."""

    def __init__(self, base: torch.Tensor, parameter: torch.Tensor, orthogonal_map: str) -> None:
        super().__init__()
        self.register_buffer("base", base.clone())
        self.A = nn.Parameter(parameter.clone())
        self.orthogonal_map = orthogonal_map
        self._B = None

    @property
    def B(self) -> torch.Tensor:
        if self._B is None:
            x = self.A.tril()
            skew = x - x.T
            if self.orthogonal_map == "matrix_exp":
                q = torch.matrix_exp(skew)
            else:  # cayley, as torch computes it
                eye = torch.eye(skew.shape[0], dtype=skew.dtype)
                q = torch.linalg.solve(torch.add(eye, skew, alpha=-0.5), torch.add(eye, skew, alpha=0.5))
            self._B = self.base @ q
        return self._B

    def reset_cache(self) -> None:
        self._B = None

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return F.linear(h, self.B)


class ModReLU(nn.Module):
    def __init__(self, bias: torch.Tensor) -> None:
        super().__init__()
        self.b = nn.Parameter(bias.clone())

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        norm = torch.abs(inputs)
        magnitude = F.relu(norm + self.b)
        return torch.sign(inputs) * magnitude


class OrthogonalRNN(nn.Module):
    """expRNN's cell: ``h' = modrelu(input_kernel(x) + recurrent_kernel(h))``."""

    def __init__(self, input_weight, base, parameter, bias, orthogonal_map) -> None:
        super().__init__()
        self.input_kernel = nn.Linear(input_weight.shape[1], input_weight.shape[0], bias=False)
        with torch.no_grad():
            self.input_kernel.weight.copy_(input_weight)
        self.recurrent_kernel = ExpRNNOrthogonal(base, parameter, orthogonal_map)
        self.nonlinearity = ModReLU(bias)

    def forward(self, x, h):
        out = self.nonlinearity(self.input_kernel(x) + self.recurrent_kernel(h))
        return out, out


class ReferenceModel(nn.Module):
    """The expRNN copying model: unrolled cell, per-step linear readout."""

    def __init__(self, ours, orthogonal_map) -> None:
        super().__init__()
        layer = ours.layers[0]
        original = layer.recurrent.parametrizations.weight.original.detach()
        base = layer.recurrent.parametrizations.weight[0].base.detach()
        self.rnn = OrthogonalRNN(layer.input.weight.detach(), base, original, layer.bias.detach(), orthogonal_map)
        self.lin = nn.Linear(ours.hidden, ours.output_size)
        with torch.no_grad():
            self.lin.weight.copy_(ours.readout.weight)
            self.lin.bias.copy_(ours.readout.bias)
        self.hidden = ours.hidden

    def forward(self, inputs):
        h = inputs.new_zeros(inputs.shape[0], self.hidden)
        outputs = []
        for x in torch.unbind(inputs, dim=1):
            out_rnn, h = self.rnn(x, h)
            outputs.append(self.lin(out_rnn))
        return torch.stack(outputs, dim=1)

    def orthogonal_parameters(self):
        return [self.rnn.recurrent_kernel.A]


def timed_steps(model, optimizer, task, batches, clip, before_step=None):
    """Optimiser steps on ``batches``; returns the losses and the seconds of each step."""
    losses, seconds = [], []
    for inputs, targets in batches:
        start = time.perf_counter()
        if before_step is not None:
            before_step()
        optimizer.zero_grad(set_to_none=True)
        loss = task.loss(model(inputs), targets)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        optimizer.step()
        losses.append(loss.item())
        seconds.append(time.perf_counter() - start)
    return losses, seconds


def run_pair(config, task, batches, dtype):
    """Train both models side by side on ``batches``; returns (losses, seconds) of each."""
    ours = build_model(config, task).to(dtype)
    reference = ReferenceModel(ours, config.orthogonal).to(dtype)
    ours_opt = _optimizer(ours, config)
    ref_orthogonal = reference.orthogonal_parameters()
    ref_opt = torch.optim.RMSprop(
        [{"params": [p for p in reference.parameters() if all(p is not q for q in ref_orthogonal)],
          "lr": config.lr},
         {"params": ref_orthogonal, "lr": config.lr_orthogonal}], alpha=config.rmsprop_alpha)
    ours_losses, ours_times, ref_losses, ref_times = [], [], [], []
    # Interleave the two models step by step so that both see the same machine load.
    for inputs, targets in batches:
        batch = [(inputs.to(dtype), targets.to(dtype) if targets.is_floating_point() else targets)]
        loss, sec = timed_steps(ours, ours_opt, task, batch, config.clip)
        ours_losses += loss
        ours_times += sec
        loss, sec = timed_steps(reference, ref_opt, task, batch, config.clip,
                                before_step=reference.rnn.recurrent_kernel.reset_cache)
        ref_losses += loss
        ref_times += sec
    return ours_losses, ours_times, ref_losses, ref_times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay", type=int, default=1000, help="copying delay B (default 1000)")
    parser.add_argument("--hidden", type=int, default=190)
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--steps", type=int, default=5, help="timed steps per model (default 5)")
    parser.add_argument("--check-steps", type=int, default=3,
                        help="steps of the float64 loss-curve check (default 3; 0 skips it)")
    parser.add_argument("--map", default="matrix_exp", choices=("matrix_exp", "cayley"))
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    config = TrainConfig(task="copying", length=args.delay, cell="modrelu", depth=1, hidden=args.hidden,
                         orthogonal=args.map, batch_size=args.batch, seed=args.seed)
    task = config.make_task()
    generator = torch.Generator().manual_seed(args.seed)
    batches = [task.sample(args.batch, generator) for _ in range(max(args.steps + 1, args.check_steps))]
    print(f"copying B={args.delay} (T={task.sequence_length}), modReLU, hidden {args.hidden}, batch {args.batch}, "
          f"map {args.map}, CPU, {torch.get_num_threads()} threads; {args.steps} timed steps (+1 untimed "
          f"warm-up) per model, interleaved")

    ours_losses, ours_times, ref_losses, ref_times = run_pair(config, task, batches[:args.steps + 1], torch.float32)
    ours_t, ref_t = statistics.median(ours_times[1:]), statistics.median(ref_times[1:])
    print(f"{'model':<28}{'s/step (median)':>16}{'steps/s':>10}")
    print(f"{'tnrnn DeepRNN':<28}{ours_t:>16.3f}{1 / ours_t:>10.3f}")
    print(f"{'reference OrthogonalRNN':<28}{ref_t:>16.3f}{1 / ref_t:>10.3f}")
    print(f"speed ratio tnrnn / reference: {ref_t / ours_t:.2f}x  (steps/s of tnrnn over steps/s of the reference)")
    diff = max(abs(a - b) for a, b in zip(ours_losses, ref_losses))
    print(f"float32 losses tnrnn:     {' '.join(f'{v:.6f}' for v in ours_losses)}")
    print(f"float32 losses reference: {' '.join(f'{v:.6f}' for v in ref_losses)}")
    print(f"float32 max |loss difference| over {len(ours_losses)} steps: {diff:.2e} "
          f"(float rounding, amplified by RMSprop's normalised steps)")
    if args.check_steps:
        ours64, _, ref64, _ = run_pair(config, task, batches[:args.check_steps], torch.float64)
        diff64 = max(abs(a - b) for a, b in zip(ours64, ref64))
        print(f"float64 losses tnrnn:     {' '.join(f'{v:.12f}' for v in ours64)}")
        print(f"float64 losses reference: {' '.join(f'{v:.12f}' for v in ref64)}")
        print(f"float64 max |loss difference| over {len(ours64)} steps: {diff64:.2e} (same function, same gradients)")


if __name__ == "__main__":
    main()
