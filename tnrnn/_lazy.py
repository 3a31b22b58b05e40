"""Names of a package that load on first use, so that importing the package stays fast.

Examples
--------
>>> import tnrnn.lenses.linear as linear
>>> "lag_weights" in dir(linear), linear.lag_weights.__module__
(True, 'tnrnn.lenses.linear.theory')
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: dict[str, str]) -> tuple[Callable, Callable]:
    """A module-level ``__getattr__`` and ``__dir__`` for ``package`` that import its names on first use.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    exports : dict of str to str
        Name -> the module defining it: a dotted path, or a submodule name of ``package``.

    Returns
    -------
    (callable, callable)
        ``__getattr__``: an exported name is imported once and cached in the package; a
        submodule path already in :data:`sys.modules` (among them the old paths that
        :mod:`tnrnn._moved` keeps) is returned as it is; anything else is an AttributeError.
        ``__dir__``: the package's names and the exported ones.
    """
    namespace = sys.modules[package].__dict__

    def __getattr__(name: str):
        if name in exports:
            target = exports[name] if "." in exports[name] else f"{package}.{exports[name]}"
            value = getattr(importlib.import_module(target), name)
            namespace[name] = value
            return value
        if f"{package}.{name}" in sys.modules:  # import tnrnn.circuits; tnrnn.circuits.RACSpec
            return sys.modules[f"{package}.{name}"]
        raise AttributeError(f"module {package!r} has no attribute {name!r}")

    def __dir__():
        return sorted(set(namespace) | set(exports))

    return __getattr__, __dir__
