"""Continue a finished sweep's training runs under a larger step cap, without retraining.

``python tools/extend_sweep.py OLD_CONFIG OLD_DB NEW_CONFIG NEW_DB`` copies the training
directory of every ensemble of ``OLD_CONFIG`` into the runs directory of ``NEW_CONFIG``,
under the name the new sweep will look for, wherever the two configs train the same
networks on the same seeds and differ only in what a run may change on resumption
(``steps``, ``device``, ``eval_every``: :data:`tnrnn.nn.config.RESUMABLE_CHANGES`).
``tnrnn sweep NEW_CONFIG --db NEW_DB`` then resumes each run from its last checkpoint.

Why this is the same experiment: a capped run's checkpoint holds everything its next step
depends on (weights, RMSprop state, data-generator state, the plateau schedule and the best
weights), and reaching the cap changes none of it (the test scores of the best weights are
taken without touching the network), so continuing it gives the run that a larger cap would
have given from the start. Copies are written to a temporary name and renamed into place;
a directory that is already there is left alone, so the tool can be run again.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path


def _groups(config, db: Path) -> dict[str, dict]:
    from tnrnn.experiments.executors import _payloads

    return {p["group_id"]: p for p in _payloads(config, db, config.points)}


def _shared(payload: dict):
    from tnrnn.nn.config import TrainConfig

    return TrainConfig(**payload["points"][0]["train"])


def plan_copies(old_config: str, old_db: str, new_config: str, new_db: str) -> list[tuple[Path, Path]]:
    """``(source, destination)`` for every new ensemble that an old one continues.

    Raises ``ValueError`` when a new ensemble has no old one to continue, or several.
    """
    from tnrnn.experiments.config import load_config

    old = _groups(load_config(old_config), Path(old_db))
    new = _groups(load_config(new_config), Path(new_db))
    copies = []
    for payload in new.values():
        wanted = _shared(payload)
        matches = [p for p in old.values()
                   if p["seeds"] == payload["seeds"] and not _shared(p).differences(wanted)]
        if len(matches) != 1:
            raise ValueError(f"new ensemble {payload['group_id']} ({payload['points'][0]['params']}) matches "
                             f"{len(matches)} ensembles of {old_config}; expected exactly one")
        copies.append((Path(matches[0]["run_dir"]), Path(payload["run_dir"])))
    return copies


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old_config")
    parser.add_argument("old_db")
    parser.add_argument("new_config")
    parser.add_argument("new_db")
    args = parser.parse_args(argv)
    for source, destination in plan_copies(args.old_config, args.old_db, args.new_config, args.new_db):
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
