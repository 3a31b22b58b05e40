"""Continue a finished sweep's training runs under a larger step cap, without retraining.

``python tools/extend_sweep.py OLD_CONFIG OLD_DB NEW_CONFIG NEW_DB`` copies the training
directory of every ensemble of ``OLD_CONFIG`` into the runs directory of ``NEW_CONFIG``,
under the name the new sweep will look for, wherever the two configs train the same
networks on the same seeds and differ only in ``steps``.
``tnrnn sweep NEW_CONFIG --db NEW_DB`` then resumes each run from its last checkpoint.

Why this is the same experiment: a capped run's checkpoint holds everything its next step
depends on (weights, RMSprop state, data-generator state, the plateau schedule and the best
weights), and reaching the cap changes none of it (the test scores of the best weights are
taken without touching the network), so continuing it on the same device gives, bit for bit,
the run that a larger cap would have given from the start. That needs the old cap to fall on
an evaluation (a run also evaluates at its cap, which an uncapped run would not have done
there), so the tool refuses an old cap that is not a multiple of ``eval_every``, a smaller
new cap, and any other difference (``eval_every`` or ``device`` included), which a resumed
run would accept but which would change its numbers.

Copies are written to a temporary name and renamed into place; a directory that is already
there is left alone (and a temporary copy a crash left behind is removed), so the tool can be
run again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path


def _groups(config, db: Path, source: str) -> dict[str, dict]:
    from tnrnn.experiments.executors import DEFAULT_RUNNER, work_units

    if config.run["runner"] != DEFAULT_RUNNER:
        raise ValueError(f"{source} trains with its own runner ({config.run['runner']}): only sweeps of the "
                         f"default runner (one ensemble per group of seeds) can be continued")
    return {p["group_id"]: p for p in work_units(config, db)}


def _shared(payload: dict):
    from tnrnn.nn.config import TrainConfig

    return TrainConfig(**payload["points"][0]["train"])


def plan_copies(old_config: str, old_db: str, new_config: str, new_db: str) -> list[tuple[Path, Path]]:
    """``(source, destination)`` for every new ensemble that an old one continues.

    Raises ``ValueError`` when a new ensemble has no old one to continue, or several.
    """
    from tnrnn.experiments.config import load_config

    old = _groups(load_config(old_config), Path(old_db), old_config)
    new = _groups(load_config(new_config), Path(new_db), new_config)
    copies = []
    for payload in new.values():
        wanted = _shared(payload)
        matches = [p for p in old.values()
                   if p["seeds"] == payload["seeds"] and not _shared(p).differences(wanted, ignore=("steps",))]
        if len(matches) != 1:
            raise ValueError(f"new ensemble {payload['group_id']} ({payload['points'][0]['params']}) matches "
                             f"{len(matches)} ensembles of {old_config}; expected exactly one")
        before = _shared(matches[0])
        if wanted.steps < before.steps or before.steps % before.eval_every:
            raise ValueError(f"{old_config}: a cap of {before.steps} steps (eval_every {before.eval_every}) "
                             f"continued to {wanted.steps}: the new cap must be at least the old one, and the "
                             f"old one a multiple of eval_every (a run also evaluates at its cap)")
        copies.append((Path(matches[0]["run_dir"]), Path(payload["run_dir"])))
    return copies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old_config")
    parser.add_argument("old_db")
    parser.add_argument("new_config")
    parser.add_argument("new_db")
    args = parser.parse_args(argv)
    try:
        copies = plan_copies(args.old_config, args.old_db, args.new_config, args.new_db)
    except ValueError as error:  # ConfigError included
        print(f"extend_sweep: error: {error}", file=sys.stderr)
        return 2
    for source, destination in copies:
        for stale in destination.parent.glob(destination.name + ".partial-*"):  # a crash mid-copy
            shutil.rmtree(stale)
        if destination.exists():
            print(f"kept     {destination} (already there)")
            continue
        if not (source / "ensemble.pt").exists():
            print(f"skipped  {destination}: {source} has no ensemble checkpoint")
            continue
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(destination.name + f".partial-{os.getpid()}")
        shutil.copytree(source, partial, ignore=shutil.ignore_patterns(".lock", "*.tmp*"))
        partial.rename(destination)
        print(f"copied   {source} -> {destination}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
