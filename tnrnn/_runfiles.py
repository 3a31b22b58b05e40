"""Structure checks of the files of a training run, so a well-formed but wrong file is refused by name.

A run directory holds ``config.json`` (a JSON object), ``metrics.jsonl`` (one JSON object
per evaluation, each with an integer ``step``, steps strictly increasing) and
``checkpoint.pt`` (a dict with the model's tensors, the optimiser's state, the data
generator's state and the schedule state); an ensemble directory adds ``ensemble.json``
(an object with the list of ``seeds``) and ``ensemble.pt`` (the seeds and one member
checkpoint per seed, each member's config carrying its own seed). Every reader here
checks that structure before anything uses the content, and a file that fails is
refused with a ``ValueError`` that names it, says what is wrong, and what to do.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from tnrnn._files import append_line, atomic_write_text, read_json, read_jsonl

__all__ = [
    "read_metrics",
    "append_metrics",
    "rewrite_metrics",
    "check_checkpoint",
    "check_ensemble_checkpoint",
    "read_manifest",
    "check_weights",
]

_HINT = "delete it (and retrain or resume from scratch) or restore a good copy"


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def read_metrics(path: str | os.PathLike, up_to_step: int | None = None, *,
                 note: Callable[[str], None] | None = None) -> tuple[list[dict], bool]:
    """The metrics lines of a run, checked: objects with an integer ``step``, steps strictly increasing.

    Parameters
    ----------
    path : path-like
        ``metrics.jsonl`` (missing: no lines).
    up_to_step : int, optional
        Keep only lines with ``step <= up_to_step`` (the checkpoint's step: later lines
        were logged after the last checkpoint and are logged again when training resumes).
    note : callable, optional
        Receives the note about a torn last line (default: stderr).

    Returns
    -------
    (lines, clean)
        ``clean`` is False when the file holds a torn last line or lines after
        ``up_to_step``: a resume must then write the kept lines as a new file.

    Raises
    ------
    ValueError
        A line that is not an object, has no integer ``step``, or goes back in steps
        (two runs' histories in one file), naming the file and the line.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "metrics.jsonl"
    >>> _ = p.write_text('{"step": 10}\\n{"step": 20}\\n{"step": 30}\\n')
    >>> [m["step"] for m in read_metrics(p, 20)[0]], read_metrics(p, 20)[1]
    ([10, 20], False)
    >>> _ = p.write_text('{"step": 10}\\n{"step": 20}\\n{"step": 10}\\n')
    >>> read_metrics(p)
    Traceback (most recent call last):
    ...
    ValueError: metrics file '.../metrics.jsonl', line 3: step 10 after step 20 (two runs' histories in one file?); delete it (and retrain or resume from scratch) or restore a good copy
    """
    path = Path(path)
    if not path.exists():
        return [], True
    torn = []
    records = read_jsonl(path, "metrics file", note=lambda text: (torn.append(text), (note or _stderr)(text)))
    previous = None
    for number, record in enumerate(records, 1):
        where = f"metrics file {str(path)!r}, line {number}"
        if not isinstance(record, dict):
            raise ValueError(f"{where}: expected a JSON object, got {type(record).__name__}; {_HINT}")
        step = record.get("step")
        if not _is_int(step) or step < 0:
            raise ValueError(f"{where}: expected an integer 'step' >= 0, got {step!r}; {_HINT}")
        if previous is not None and step <= previous:
            raise ValueError(f"{where}: step {step} after step {previous} (two runs' histories in one file?); "
                             f"{_HINT}")
        previous = step
    kept = [m for m in records if up_to_step is None or m["step"] <= up_to_step]
    return kept, not torn and len(kept) == len(records)


def _stderr(text: str) -> None:
    import sys

    print(text, file=sys.stderr)


def rewrite_metrics(path: str | os.PathLike, lines: list[dict]) -> None:
    """Replace ``metrics.jsonl`` by ``lines`` as a new file renamed over the old one (never in place)."""
    import json

    atomic_write_text(path, "".join(json.dumps(m) + "\n" for m in lines), "metrics file")


def append_metrics(path: str | os.PathLike, line: dict) -> None:
    """Append one metrics line, all or nothing (:func:`tnrnn._files.append_line`)."""
    import json

    append_line(path, json.dumps(line), "metrics file")


def check_checkpoint(payload, path: str | os.PathLike, *, seed: int | None = None,
                     member: str = "") -> dict:
    """Check the structure of one run's checkpoint; return it.

    Parameters
    ----------
    payload : object
        What ``torch.load`` returned.
    path : path-like
        The file, for messages.
    seed : int, optional
        The seed the checkpoint must have been trained with (the run's directory says it).
    member : str
        ``"member 2 (seed 7) of "`` when the payload is one member of an ensemble checkpoint.

    Raises
    ------
    ValueError
        Not a dict; ``model`` missing or not a dict of tensors; ``state`` without an integer
        ``step``; a config of another seed.

    Examples
    --------
    >>> check_checkpoint({"weights": 1}, "run/checkpoint.pt")
    Traceback (most recent call last):
    ...
    ValueError: checkpoint 'run/checkpoint.pt' is not a tnrnn training checkpoint: missing 'model', 'optimizer', 'data_generator', 'state'; delete it (and retrain or resume from scratch) or restore a good copy
    """
    import torch

    name = f"{member}checkpoint {str(path)!r}"
    if not isinstance(payload, dict):
        raise ValueError(f"{name} is not a tnrnn training checkpoint (it holds a {type(payload).__name__}, "
                         f"not a dict); {_HINT}")
    missing = [k for k in ("model", "optimizer", "data_generator", "state") if k not in payload]
    if missing:
        raise ValueError(f"{name} is not a tnrnn training checkpoint: missing "
                         f"{', '.join(repr(k) for k in missing)}; {_HINT}")
    model = payload["model"]
    if not isinstance(model, dict) or not all(isinstance(k, str) and isinstance(v, torch.Tensor)
                                              for k, v in model.items()):
        raise ValueError(f"{name}: 'model' is not a dict of named tensors; {_HINT}")
    optimizer = payload["optimizer"]
    if not isinstance(optimizer, dict) or not isinstance(optimizer.get("state"), dict) \
            or not isinstance(optimizer.get("param_groups"), list):
        raise ValueError(f"{name}: 'optimizer' is not an optimiser state (a dict with 'state' and "
                         f"'param_groups'); {_HINT}")
    generator = payload["data_generator"]
    if not isinstance(generator, torch.Tensor) or generator.dtype != torch.uint8:
        raise ValueError(f"{name}: 'data_generator' is not a generator state (a uint8 tensor); {_HINT}")
    state = payload["state"]
    if not isinstance(state, dict) or not _is_int(state.get("step")) or state["step"] < 0:
        raise ValueError(f"{name}: 'state' has no integer 'step' >= 0; {_HINT}")
    for key, kinds in _STATE_TYPES.items():
        if key in state and not (isinstance(state[key], kinds) and not (
                isinstance(state[key], bool) and bool not in kinds)):
            raise ValueError(f"{name}: 'state' holds {key} = {state[key]!r}, not a "
                             f"{' or '.join(k.__name__ for k in kinds)}; {_HINT}")
    best = payload.get("best_model")
    if best is not None and not (isinstance(best, dict) and all(isinstance(v, torch.Tensor) for v in best.values())):
        raise ValueError(f"{name}: 'best_model' is not a dict of tensors; {_HINT}")
    config = payload.get("config")
    if seed is not None and isinstance(config, dict) and config.get("seed") != seed:
        raise ValueError(f"{name} holds the run of seed {config.get('seed')!r}, but its directory is seed {seed} "
                         f"(members swapped or copied?); {_HINT}")
    return payload


#: Types of the schedule state a checkpoint carries (``None`` where the key may be empty).
_STATE_TYPES = {
    "train_sum": (int, float), "train_count": (int,), "best_loss": (int, float), "best_tracked": (int, float),
    "bad_evals": (int,), "plateaus": (int,), "stopped": (bool,), "elapsed": (int, float),
    "last": (dict, type(None)),
}


def check_weights(weights, expected: dict, name: str, what: str) -> None:
    """Refuse a dict of tensors whose names or shapes differ from ``expected`` (name -> shape).

    Raises
    ------
    ValueError
        Naming the checkpoint (``name``), the entry (``what``) and up to six differences.
    """
    found = {k: tuple(v.shape) for k, v in weights.items()}
    problems = [f"missing {k}" for k in expected if k not in found]
    problems += [f"unexpected {k}" for k in found if k not in expected]
    problems += [f"{k}: {found[k]} vs model {expected[k]}" for k in expected if k in found and found[k] != expected[k]]
    if problems:
        raise ValueError(f"{name}: {what} do not fit this architecture: " + "; ".join(problems[:6])
                         + (f" (and {len(problems) - 6} more)" if len(problems) > 6 else "") + f"; {_HINT}")


def check_ensemble_checkpoint(payload, path: str | os.PathLike, seeds: list[int]) -> dict:
    """Check an ``ensemble.pt``: the seeds of the manifest, one member checkpoint per seed, each of its seed.

    Raises
    ------
    ValueError
        Naming the file and what differs (see :func:`check_checkpoint` for each member).

    Examples
    --------
    >>> check_ensemble_checkpoint({"seeds": [0, 1], "members": []}, "e/ensemble.pt", [0, 2])
    Traceback (most recent call last):
    ...
    ValueError: ensemble checkpoint 'e/ensemble.pt' holds seeds [0, 1], but the ensemble is of seeds [0, 2]; delete it (and retrain or resume from scratch) or restore a good copy
    """
    name = f"ensemble checkpoint {str(path)!r}"
    if not isinstance(payload, dict) or "members" not in payload or "seeds" not in payload:
        kind = type(payload).__name__
        raise ValueError(f"{name} is not a tnrnn ensemble checkpoint (a dict with 'seeds' and 'members'; it holds "
                         f"a {kind}{' without them' if kind == 'dict' else ''}); {_HINT}")
    if payload["seeds"] != list(seeds):
        raise ValueError(f"{name} holds seeds {payload['seeds']!r}, but the ensemble is of seeds {list(seeds)}; {_HINT}")
    members = payload["members"]
    if not isinstance(members, list) or len(members) != len(seeds):
        count = len(members) if isinstance(members, list) else type(members).__name__
        raise ValueError(f"{name} holds {count} member checkpoint(s) for {len(seeds)} seeds; {_HINT}")
    for index, (member, seed) in enumerate(zip(members, seeds)):
        check_checkpoint(member, path, seed=seed, member=f"member {index} (seed {seed}) of ")
    return payload


def read_manifest(path: str | os.PathLike) -> dict:
    """Read ``ensemble.json``: an object whose ``seeds`` is a list of distinct integers >= 0.

    Raises
    ------
    ValueError
        Naming the file and what is wrong.
    """
    data = read_json(path, "ensemble manifest")
    seeds = data.get("seeds") if isinstance(data, dict) else None
    if not isinstance(data, dict) or not isinstance(seeds, list) or not seeds or not all(
            _is_int(s) and s >= 0 for s in seeds) or len(set(seeds)) != len(seeds):
        shown = type(data).__name__ if not isinstance(data, dict) else f"seeds {seeds!r}"
        raise ValueError(f"ensemble manifest {str(path)!r} is not an object with a list of distinct 'seeds' "
                         f"(integers >= 0): got {shown}; fix or delete it")
    return data
