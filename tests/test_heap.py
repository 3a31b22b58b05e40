"""Freed memory kept in the process while training runs: no page faults for reused buffers, same results."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys

import pytest
import torch

import tnrnn._heap as heap
import tnrnn.nn.training as training
from tnrnn.nn import TrainConfig, train_ensemble

glibc_only = pytest.mark.skipif(heap.glibc() is None, reason="mallopt is glibc's (Linux)")


_CHILD = r"""
import json, resource, torch
import tnrnn._heap as heap

def faults(cycles):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(cycles):
        torch.empty(2 << 20).fill_(1.0)  # 8 MiB, written to the last page, then freed
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before

with heap.keep_freed_memory() as applied:
    faults(20)  # until freed blocks have merged into one that a new (aligned) block fits in
    with heap.keep_freed_memory():
        pass
    inside = faults(20)  # after an inner block ended: the outer one still holds
after = faults(20)
again = faults(20)
print(json.dumps({"applied": applied, "inside": inside, "after": after, "again": again}))
"""


@glibc_only
def test_inside_the_block_a_freed_large_buffer_is_reused_without_page_faults():
    # a fresh process: the allocator's state depends on everything the process did before
    done = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True, text=True, check=True)
    found = json.loads(done.stdout.strip().splitlines()[-1])
    assert found["applied"]
    # an 8 MiB block is 2048 pages: inside, it stays in the heap and is reused without a
    # fault; at the end the freed memory goes back to the system (malloc_trim), so the next
    # block is faulted in again
    assert found["inside"] < 2048 <= found["after"] + 16, found
    # but once, not at every allocation: the thresholds after the block are not glibc's
    # 128 KiB defaults (which map every large block afresh: 20 x 2048 faults here)
    assert found["again"] < 2048, found


def test_training_gives_the_same_weights_with_and_without_kept_memory(tmp_path, monkeypatch):
    config = TrainConfig.preset("paper", task="ses", length=40, word_length=8, depth=2, hidden=36, steps=40,
                                batch_size=128, eval_every=20, val_size=256, test_size=128, plateau_patience=0)

    def weights(out_dir):
        train_ensemble(config, [0, 1], out_dir, progress=False)
        state = torch.load(out_dir / "ensemble.pt", weights_only=True)
        return [tensor for member in state["members"] for _, tensor in sorted(member["model"].items())]

    kept = weights(tmp_path / "kept")
    monkeypatch.setattr(training, "keep_freed_memory", contextlib.nullcontext)
    plain = weights(tmp_path / "plain")
    assert len(kept) == len(plain) > 0
    assert all(torch.equal(a, b) for a, b in zip(kept, plain))
