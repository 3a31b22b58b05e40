"""Memory tasks: conventions on hand-written examples, invariants, baselines, bad input."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from tnrnn.nn.tasks import ADDING_TOLERANCE, make_task


def gen(seed=0):
    return torch.Generator().manual_seed(seed)


# --- copying ----------------------------------------------------------------------------


def test_copying_arjovsky_hand_example():
    task = make_task("copying", 4, alphabet=3, word_length=3)
    tokens, targets = task.example([[3, 1, 2]])
    # 3 symbols, B-1 = 3 blanks, delimiter 4, 3 blanks; length B + 2K = 10.
    assert tokens.tolist() == [[3, 1, 2, 0, 0, 0, 4, 0, 0, 0]]
    # B + K = 7 blanks, then the symbols: first recall one step after the delimiter.
    assert targets.tolist() == [[0, 0, 0, 0, 0, 0, 0, 3, 1, 2]]


def test_copying_exprnn_hand_example():
    task = make_task("copying", 4, alphabet=3, word_length=3, variant="exprnn")
    tokens, targets = task.example([[3, 1, 2]])
    assert tokens.tolist() == [[3, 1, 2, 0, 0, 0, 0, 4, 0, 0]]  # recall starts at the delimiter
    assert targets.tolist() == [[0, 0, 0, 0, 0, 0, 0, 3, 1, 2]]


def test_copying_default_sizes_match_arjovsky():
    task = make_task("copying", 1000)
    assert (task.sequence_length, task.input_size, task.output_size, task.alphabet_size) == (1020, 10, 9, 10)
    assert task.baseline_loss == pytest.approx(10 * math.log(8) / 1020)
    marker = make_task("copying", 100, variant="marker")
    assert (marker.alphabet, marker.word_length, marker.sequence_length) == (32, 30, 160)
    assert marker.baseline_loss == pytest.approx(30 * math.log(32) / 160)


@pytest.mark.parametrize("variant", ["arjovsky", "exprnn", "marker"])
def test_copying_samples_follow_convention(variant):
    task = make_task("copying", 7, variant=variant)
    tokens, targets = task.sample_tokens(64, gen(1))
    k, n = task.word_length, task.alphabet
    words = tokens[:, :k]
    assert int(words.min()) >= 1 and int(words.max()) <= n
    expected_tokens, expected_targets = task.example(words)
    assert torch.equal(tokens, expected_tokens) and torch.equal(targets, expected_targets)
    inputs, _ = task.sample(64, gen(1))
    assert torch.equal(inputs.argmax(-1), tokens) and inputs.dtype == torch.float32


def test_copying_memoryless_baseline_is_empirical():
    """The best memoryless predictor (per-step target frequencies) scores the formula."""
    task = make_task("copying", 5, alphabet=4, word_length=3)
    _, fit = task.sample_tokens(20000, gen(2))
    freq = F.one_hot(fit, task.output_size).double().mean(0)  # (T, C)
    _, test = task.sample_tokens(20000, gen(3))
    logits = freq.clamp_min(1e-300).log().expand(test.shape[0], -1, -1)
    loss = float(task.loss(logits, test))
    assert loss == pytest.approx(task.baseline_loss, rel=0.01)
    assert task.metric(logits.float(), test) == pytest.approx(1 / 4, abs=0.02)


def test_copying_metric_scores_recall_window():
    task = make_task("copying", 3, alphabet=2, word_length=2)
    tokens, targets = task.example([[1, 2], [2, 2]])
    perfect = F.one_hot(targets, task.output_size).float()
    assert task.metric(perfect, targets) == 1.0
    assert float(task.loss(perfect * 100, targets)) < 1e-6
    half = perfect.clone()
    half[0, -1] = torch.tensor([0.0, 1.0, 0.0])  # one wrong recall out of four
    assert task.metric(half, targets) == 0.75


# --- Start-End Similarity ----------------------------------------------------------------


def test_ses_hand_examples():
    task = make_task("ses", 10, alphabet=5, word_length=3)
    tokens, labels = task.example([[1, 2, 3], [1, 2, 3], [1, 2, 3]],
                                  [[4, 5, 1], [1, 5, 1], [1, 2, 3]], offsets=[0, 1, 2])
    assert tokens.tolist() == [
        [1, 2, 3, 0, 0, 4, 5, 1, 0, 0],
        [0, 1, 2, 3, 0, 0, 1, 5, 1, 0],
        [0, 0, 1, 2, 3, 0, 0, 1, 2, 3],
    ]
    assert labels.tolist() == [0, 1, 2]  # round(2 * {0, 1, 3} / 3)


def test_ses_without_blank_when_words_fill_halves():
    task = make_task("ses", 6, alphabet=3)
    assert task.word_length == 3 and not task.blank and task.input_size == 3
    tokens, labels = task.sample_tokens(50, gen(0))
    assert int(tokens.max()) <= 2


def _ses_reference_check(task, tokens, labels):
    """Independent re-derivation of every SES invariant from the raw tokens."""
    t, m, half = task.length, task.word_length, task.length // 2
    for row, label in zip(tokens.tolist(), labels.tolist()):
        offset = 0
        if task.blank:
            first = [i for i in range(half) if row[i] != 0]
            second = [i - half for i in range(half, t) if row[i] != 0]
            offset = first[0]
            assert first == second == list(range(offset, offset + m))  # same offset, contiguous
        equal = sum(row[offset + j] == row[half + offset + j] for j in range(m))
        assert equal in (0, m // 2, m)  # non-matching positions forced to differ
        assert label == math.floor(2 * equal / m + 0.5)  # round(C * fraction), C = 2


@given(half=st.integers(2, 12), m_frac=st.floats(0, 1), n=st.integers(2, 6), seed=st.integers(0, 99))
def test_ses_samples_follow_convention(half, m_frac, n, seed):
    m = 2 + int(m_frac * (half - 2))
    task = make_task("ses", 2 * half, alphabet=n, word_length=m)
    tokens, labels = task.sample_tokens(40, gen(seed))
    assert tokens.shape == (40, 2 * half) and int(tokens.max()) < task.alphabet_size
    _ses_reference_check(task, tokens, labels)


def test_ses_balanced_and_baseline():
    task = make_task("ses", 20, alphabet=4, word_length=4)
    _, labels = task.sample_tokens(30000, gen(5))
    freq = torch.bincount(labels, minlength=3).double() / labels.numel()
    assert torch.allclose(freq, torch.full((3,), 1 / 3, dtype=torch.float64), atol=0.01)
    logits = freq.log().expand(labels.numel(), task.sequence_length, 3)
    assert float(task.loss(logits, labels)) == pytest.approx(task.baseline_loss, rel=0.005)
    assert task.baseline_loss == pytest.approx(math.log(3))


# --- adding -------------------------------------------------------------------------------


def test_adding_convention_and_baseline():
    task = make_task("adding", 9)
    inputs, targets = task.sample(20000, gen(4))
    values, marker = inputs[..., 0], inputs[..., 1]
    assert torch.equal(marker[:, :4].sum(1), torch.ones(20000))  # one marker in [0, T//2)
    assert torch.equal(marker[:, 4:].sum(1), torch.ones(20000))  # one in [T//2, T)
    assert set(marker.unique().tolist()) == {0.0, 1.0}
    assert torch.allclose((values * marker).sum(1), targets)
    assert float(values.min()) >= 0 and float(values.max()) < 1
    constant = torch.ones(20000, 9, 1)
    assert float(task.loss(constant, targets)) == pytest.approx(1 / 6, rel=0.03)
    assert task.baseline_loss == 1 / 6
    near = torch.zeros(20000, 9, 1)
    near[:, -1, 0] = targets + ADDING_TOLERANCE / 2
    assert task.metric(near, targets) == 1.0
    assert task.metric(constant, targets) < 0.1


# --- seeding and bad input ------------------------------------------------------------------


@pytest.mark.parametrize("name,length", [("copying", 5), ("ses", 8), ("adding", 8)])
def test_seeded(name, length):
    task = make_task(name, length)
    a, b, c = task.sample(16, gen(7)), task.sample(16, gen(7)), task.sample(16, gen(8))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])
    assert not torch.equal(a[0], c[0])


@pytest.mark.parametrize("kwargs,match", [
    (dict(name="copy", length=5), "unknown task 'copy'"),
    (dict(name="ses", length=9), "even length"),
    (dict(name="ses", length=8, word_length=5), "T >= 2m"),
    (dict(name="ses", length=8, word_length=1), "word_length"),
    (dict(name="copying", length=0), "delay"),
    (dict(name="copying", length=5, variant="foo"), "unknown copying variant"),
    (dict(name="adding", length=1), "length"),
    (dict(name="adding", length=8, alphabet=3), "no alphabet"),
    (dict(name="ses", length=8, variant="exprnn"), "copying task only"),
])
def test_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        make_task(kwargs.pop("name"), kwargs.pop("length"), **kwargs)


def test_bad_sample_arguments():
    task = make_task("copying", 5)
    with pytest.raises(ValueError, match="batch_size"):
        task.sample(0, gen())
    with pytest.raises(ValueError, match="generator"):
        task.sample(4, 0)
    with pytest.raises(ValueError, match="tokens must lie"):
        task.encode(torch.tensor([[0, 10]]))
    with pytest.raises(ValueError, match="real-valued"):
        make_task("adding", 4).encode(torch.zeros(1, 4, dtype=torch.long))


def test_copying_marker_sits_at_the_first_recall_step():
    """As the published code: K symbols, B + K blanks, the marker overwriting index T - K."""
    task = make_task("copying", 5, alphabet=4, word_length=3, variant="marker")
    tokens, targets = task.example([[1, 2, 3]])
    t = task.sequence_length
    assert t == 5 + 2 * 3 and task.delimiter_position == t - 3 == task.recall_start
    assert tokens.tolist() == [[1, 2, 3, 0, 0, 0, 0, 0, 5, 0, 0]]
    assert targets.tolist() == [[0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3]]


def test_ses_offsets_leave_the_last_slot_of_each_half_blank():
    task = make_task("ses", 12, alphabet=5, word_length=2)
    tokens, _ = task.sample_tokens(4000, gen(3))
    half = 6
    assert int(tokens[:, half - 1].abs().sum()) == 0 and int(tokens[:, -1].abs().sum()) == 0
    starts = (tokens[:, :half] > 0).float().argmax(1)
    assert set(starts.tolist()) == {0, 1, 2, 3}  # offsets 0 .. T/2 - m - 1, all used


@given(seed=st.integers(0, 10_000), n=st.integers(2, 6), m=st.integers(2, 3))
def test_ses_probe_halves_join_into_inputs_with_the_target_label(seed, n, m):
    task = make_task("ses", 4 * m, alphabet=n, word_length=m)
    first, second = task.probe_halves(7, gen(seed))
    target = task.target_matrix(first, second, output_index=2)
    for i in range(7):
        for j in range(7):
            tokens = torch.cat([first[i], second[j]])[None]
            words = tokens[0][tokens[0] > 0] if task.blank else tokens[0]
            equal = int((words[:m] == words[m:]).sum())
            assert target[i, j] == float(round(2 * equal / m) == 2)
    assert task.join(first, second).shape == (7, 4 * m, task.input_size)


def test_adding_target_matrix_is_the_sum_of_the_marked_values():
    task = make_task("adding", 10)
    first, second = task.probe_halves(5, gen(0))
    target = task.target_matrix(first, second)
    inputs = task.join(first.repeat_interleave(5, 0), second.repeat(5, 1, 1))
    sums = (inputs[..., 0] * inputs[..., 1]).sum(1).double().reshape(5, 5)
    assert torch.allclose(target, sums) and torch.linalg.matrix_rank(target) <= 2


def test_copying_has_no_task_data_probe():
    with pytest.raises(ValueError, match="no task-data probe"):
        make_task("copying", 5).probe_halves(4, gen(0))


@pytest.mark.parametrize("name, length, word_length", [("ses", 12, 2), ("ses", 40, 8), ("ses", 44, 22),
                                                       ("copying", 20, 4)])
def test_batches_drawn_together_are_each_generators_own_batch(name, length, word_length):
    """An ensemble's batches, drawn at once: member k gets exactly sample_tokens(B, generator k), and
    each generator is left where sample_tokens leaves it."""
    task = make_task(name, length, word_length=word_length)
    together = [torch.Generator().manual_seed(seed) for seed in (3, 4, 5)]
    alone = [torch.Generator().manual_seed(seed) for seed in (3, 4, 5)]
    for _ in range(2):
        tokens, targets = task.sample_tokens_together(17, together)
        for k, generator in enumerate(alone):
            expected_tokens, expected_targets = task.sample_tokens(17, generator)
            assert torch.equal(tokens[k], expected_tokens) and torch.equal(targets[k], expected_targets)
    for a, b in zip(together, alone):
        assert torch.equal(a.get_state(), b.get_state())
