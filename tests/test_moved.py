"""The flat module paths of release 0.1 still import, warn with FutureWarning, and give the same objects."""

from __future__ import annotations

import importlib
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

import tnrnn
from tnrnn._moved import MOVED, MOVED_NAMES

ROOT = Path(tnrnn.__file__).resolve().parent


@pytest.mark.parametrize("old, targets", sorted(MOVED.items()))
def test_an_old_path_warns_and_gives_the_new_objects(old, targets):
    new = targets if isinstance(targets, str) else targets[0]
    module = importlib.import_module(new)
    name = next(n for n in getattr(module, "__all__", dir(module)) if not n.startswith("_"))
    stand_in = importlib.import_module(old)
    with pytest.warns(FutureWarning, match=f"{old} moved to {new}"):
        value = getattr(stand_in, name)
    assert value is getattr(module, name)
    assert not (ROOT.parent / Path(*old.split("."))).with_suffix(".py").exists()  # no file at the old path


def the_one_warning_here(caught) -> str:
    """The message of the only warning caught, checked to be a FutureWarning at a line of this file."""
    assert [w.category for w in caught] == [FutureWarning]
    assert caught[0].filename == __file__
    return str(caught[0].message)


def test_from_import_of_an_old_path_warns_at_the_callers_line():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from tnrnn.profile import rank_profile  # noqa: F401
    assert "tnrnn.ranks.cuts" in the_one_warning_here(caught)


def test_a_moved_name_of_a_package_warns():
    import tnrnn.nn

    for (package, name), new in MOVED_NAMES.items():
        with pytest.warns(FutureWarning, match=f"{package}.{name} moved to {new}"):
            assert getattr(importlib.import_module(package), name) is getattr(importlib.import_module(new), name)
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        tnrnn.nn.nonsense  # noqa: B018


def test_from_import_of_a_moved_name_of_a_package_warns_once_at_the_callers_line():
    # ``from package import name`` probes the name with hasattr before reading it
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        from tnrnn.nn import GatedRNN  # noqa: F401
    assert "tnrnn.lenses.timescale" in the_one_warning_here(caught)


def test_bounds_stays_the_function_after_importing_its_old_module():
    import tnrnn.bounds  # noqa: F401  (the stand-in of the old module)

    assert callable(tnrnn.bounds)
    assert tnrnn.bounds(tnrnn.RACSpec(2, 2, 2), 6).trivial_upper == 8


def test_import_tnrnn_stays_light_with_the_stand_ins():
    code = "import sys, tnrnn; print(sorted(m for m in ('torch', 'quimb', 'matplotlib') if m in sys.modules))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("old, name, new", [
    ("tnrnn.contract", "exact_rank_tn", "tnrnn.ranks.network"),  # a module split in two
    ("tnrnn.contract", "plan_contraction", "tnrnn.tn.contract"),
    ("tnrnn.contract", "NetworkTooLargeError", "tnrnn.tn.network"),
    ("tnrnn.scalable", "DEFAULT_MAX_BYTES", "tnrnn.guards"),
    ("tnrnn.reproduce", "CONFIGS", "tnrnn.experiments.config"),
])
def test_every_public_name_of_a_split_module_is_found_where_it_went(old, name, new):
    stand_in = importlib.import_module(old)
    with pytest.warns(FutureWarning, match=f"{old} moved to {new}; import {name}"):
        value = getattr(stand_in, name)
    assert value is getattr(importlib.import_module(new), name)
    with pytest.raises(AttributeError), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _ = stand_in.no_such_name
