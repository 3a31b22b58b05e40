"""How noisy is a validation loss of N samples, next to the plateau rule's 1e-3 threshold?

The plateau rule compares validation losses on one fixed set, 1000 steps apart, with an
improvement threshold of 1e-3. Two numbers decide whether a set of N samples can see such
an improvement:

- the noise of the loss itself: the standard deviation, over independently drawn sets of
  N samples, of the mean loss of one fixed network, ``std(per-sample loss) / sqrt(N)``;
- the noise of an improvement: the same for the difference between the losses of two
  networks one check apart, ``std(per-sample loss difference) / sqrt(N)`` (both networks
  score the same samples, so most of the per-sample spread cancels).

The script trains one seed of the ``paper`` preset on Start-End Similarity and, at every
check, scores a large fixed pool of samples sample by sample; it prints both numbers for
N = 1024, 5000, 20,000 and 50,000 at every check (the pool's per-sample spread divided by
sqrt(N): exact for sets drawn independently from the task).

Run::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/validation_noise.py --length 40 --word-length 8 \\
        --depth 1 --budget 4000 --steps 6000 --pool 20000
"""

from __future__ import annotations

import argparse
import math
import tempfile

import torch
import torch.nn.functional as F

from tnrnn.nn import TrainConfig, train, width_for_budget
from tnrnn.nn.training import _initial_states

SIZES = (1024, 5000, 20_000, 50_000)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--length", type=int, default=40)
    parser.add_argument("--word-length", type=int, default=8)
    parser.add_argument("--depth", type=int, default=1)
    parser.add_argument("--budget", type=int, default=4000)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--pool", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    probe = TrainConfig.preset("paper", task="ses", length=args.length, word_length=args.word_length)
    task = probe.make_task()
    hidden = width_for_budget("modrelu", args.depth, args.budget, task.input_size, task.output_size,
                              orthogonal=True)
    config = TrainConfig.preset("paper", task="ses", length=args.length, word_length=args.word_length,
                                depth=args.depth, hidden=hidden, steps=args.steps, eval_every=args.eval_every,
                                val_size=1024, test_size=1024, seed=args.seed)
    pool, labels = task.sample(args.pool, torch.Generator().manual_seed(12345))
    previous = None
    print(f"SES T={args.length} m={args.word_length} depth {args.depth} R={hidden}; pool {args.pool}")
    print("step  mean_loss  acc    | loss noise at N = " + " ".join(f"{n:>7}" for n in SIZES)
          + " | improvement noise at N = " + " ".join(f"{n:>7}" for n in SIZES))

    def callback(step, model, task_):
        nonlocal previous
        generator = torch.Generator().manual_seed(7)
        losses, correct = [], []
        with torch.no_grad():
            for start in range(0, args.pool, 1000):
                x, y = pool[start:start + 1000], labels[start:start + 1000]
                out = model(x, _initial_states(config, x.shape[0], generator))[:, -1]
                losses.append(F.cross_entropy(out, y, reduction="none"))
                correct.append(out.argmax(-1) == y)
        losses = torch.cat(losses).double()
        spread = float(losses.std())
        diff = None if previous is None else float((losses - previous).std())
        previous = losses
        line = f"{step:5d}  {float(losses.mean()):.4f}  {float(torch.cat(correct).double().mean()):.3f}  | "
        line += " ".join(f"{spread / math.sqrt(n):7.5f}" for n in SIZES) + " | "
        line += " ".join("      -" if diff is None else f"{diff / math.sqrt(n):7.5f}" for n in SIZES)
        print(line, flush=True)
        return None

    train(config, tempfile.mkdtemp(), callbacks=[callback], progress=False)


if __name__ == "__main__":
    main()
