"""Old module paths of tnrnn that keep working for one release, with a ``FutureWarning``.

The package was laid out flat until 0.1; its modules now live in one folder per stage of
the pipeline (``tnrnn.rac``, ``tnrnn.exact``, ``tnrnn.tn``, ``tnrnn.ranks``,
``tnrnn.tables``, ``tnrnn.lenses``). ``import tnrnn`` registers each old path in
:data:`sys.modules` as a small stand-in module: nothing is imported until a name is read
from it, and then the name comes from the new module with a ``FutureWarning`` that gives
the new path. No file sits at the old path, so the package folder shows only the new plan.

Examples
--------
>>> import warnings
>>> import tnrnn
>>> with warnings.catch_warnings(record=True) as caught:
...     warnings.simplefilter("always")
...     from tnrnn.circuits import RACSpec
>>> RACSpec is tnrnn.RACSpec, caught[0].category.__name__
(True, 'FutureWarning')
>>> print(caught[0].message)
tnrnn.circuits moved to tnrnn.rac.circuits; import RACSpec from there (the old path goes in the next release)
"""

from __future__ import annotations

import importlib
import sys
import types
import warnings

__all__ = ["MOVED", "MOVED_NAMES", "install", "moved_name"]

#: Old module path -> new module path (or paths, tried in order, for a module that was split).
MOVED: dict[str, str | tuple[str, ...]] = {
    "tnrnn.circuits": "tnrnn.rac.circuits",
    "tnrnn.partitions": "tnrnn.rac.partitions",
    "tnrnn.grid": "tnrnn.rac.grid",
    "tnrnn.bounds": "tnrnn.rac.bounds",
    "tnrnn.modular": "tnrnn.exact.modular",
    "tnrnn.elimination": "tnrnn.exact.elimination",
    "tnrnn.tensornet": "tnrnn.tn.network",
    "tnrnn.contract": ("tnrnn.tn.contract", "tnrnn.ranks.network", "tnrnn.tn.network", "tnrnn.guards"),
    "tnrnn.draw": "tnrnn.tn.draw",
    "tnrnn.results": "tnrnn.ranks.results",
    "tnrnn.routes": "tnrnn.ranks.routes",
    "tnrnn.rank": "tnrnn.ranks.router",
    "tnrnn.scalable": ("tnrnn.ranks.scalable", "tnrnn.guards"),
    "tnrnn.lifted": ("tnrnn.ranks.lifted", "tnrnn.guards"),
    "tnrnn.profile": "tnrnn.ranks.cuts",
    "tnrnn.comparison": "tnrnn.tables.compare",
    "tnrnn.depthtable": "tnrnn.tables.depth",
    "tnrnn.growth": "tnrnn.tables.growth",
    "tnrnn.nn.gated": "tnrnn.lenses.timescale.model",
    "tnrnn.timescale": "tnrnn.lenses.timescale",
    "tnrnn.timescale.diagnostics": "tnrnn.lenses.timescale.diagnostics",
    "tnrnn.timescale.experiment": "tnrnn.lenses.timescale.experiment",
    "tnrnn.timescale.figures": "tnrnn.lenses.timescale.figures",
    "tnrnn.timescale.model": "tnrnn.lenses.timescale.model",
    "tnrnn.timescale.theory": "tnrnn.lenses.timescale.theory",
    "tnrnn.linear": "tnrnn.lenses.linear",
    "tnrnn.linear.figures": "tnrnn.lenses.linear.figures",
    "tnrnn.linear.kernel": "tnrnn.lenses.linear.kernel",
    "tnrnn.linear.model": "tnrnn.lenses.linear.model",
    "tnrnn.linear.theory": "tnrnn.lenses.linear.theory",
    "tnrnn.linear.training": "tnrnn.lenses.linear.experiment",
    "tnrnn.reproduce": ("tnrnn.cli.figure_jobs", "tnrnn.experiments.config"),
}

#: Names that a package exported and that now live elsewhere: (package, name) -> new module.
MOVED_NAMES: dict[tuple[str, str], str] = {
    ("tnrnn.nn", "GatedRNN"): "tnrnn.lenses.timescale.model",
    ("tnrnn.nn", "init_forget_gate"): "tnrnn.lenses.timescale.model",
    ("tnrnn.rac.grid", "DEFAULT_MAX_BYTES"): "tnrnn.guards",
    ("tnrnn.lenses.linear.kernel", "DEFAULT_MAX_BYTES"): "tnrnn.guards",
}


def _warn(old: str, new: str, name: str, stacklevel: int = 3) -> None:
    warnings.warn(f"{old} moved to {new}; import {name} from there (the old path goes in the next release)",
                  FutureWarning, stacklevel=stacklevel)


class _MovedModule(types.ModuleType):
    """Stands at an old path; reading a name imports the new module and warns."""

    def __init__(self, old: str, new: str | tuple[str, ...]) -> None:
        targets = (new,) if isinstance(new, str) else tuple(new)
        super().__init__(old, f"Moved to :mod:`{targets[0]}` (this path warns and goes in the next release).")
        self.__dict__["_targets"] = targets

    def __getattr__(self, name: str):
        if name.startswith("__") and name != "__all__":  # introspection and the import system
            raise AttributeError(name)
        if f"{self.__name__}.{name}" in MOVED:  # import tnrnn.linear.model; tnrnn.linear.model.X
            return sys.modules[f"{self.__name__}.{name}"]
        for new in self.__dict__["_targets"]:
            module = importlib.import_module(new)
            if hasattr(module, name) or new == self.__dict__["_targets"][-1]:
                _warn(self.__name__, new, name)
                return getattr(module, name)
        raise AttributeError(name)  # pragma: no cover  (the last target answers)

    def __dir__(self):
        return sorted({n for new in self.__dict__["_targets"] for n in dir(importlib.import_module(new))})


def moved_name(package: str, name: str):
    """The value of a name that ``package`` no longer exports, with a ``FutureWarning``.

    For a package's module-level ``__getattr__``; raises AttributeError for any other name.
    """
    new = MOVED_NAMES.get((package, name))
    if new is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    # ``from package import name`` first probes the name with hasattr (importlib's
    # _handle_fromlist), then reads it: warn at the read only, once per import
    if sys._getframe(2).f_code.co_name != "_handle_fromlist":
        _warn(f"{package}.{name}", new, name, stacklevel=4)
    return getattr(importlib.import_module(new), name)


def install() -> None:
    """Register every old path in :data:`sys.modules` (idempotent; imports nothing)."""
    for old, new in MOVED.items():
        if old not in sys.modules:
            sys.modules[old] = _MovedModule(old, new)
