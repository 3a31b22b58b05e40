"""The recurrence's time loops compiled on first use, or None (then the Python loops run).

:mod:`tnrnn.nn.recurrence` runs each layer's time loop, forward and backward, as a few
ATen operations per step. At the training sizes of the experiments (K = 5 members, batch
128, width 28–60) each takes a few microseconds, and calling it from Python costs about
as much again. ``_loops.cpp`` calls the same operations, in the same order, from C++: the
same numbers bit for bit (tested), with the interpreter out of the loop.

It is built with :func:`torch.utils.cpp_extension.load` the first time a process needs it
(about 12 s on a quiet 2-core machine), in a scratch directory of that process, and the
library renamed into torch's extension cache (``TORCH_EXTENSIONS_DIR``, default
``~/.cache/torch_extensions``) under a name that carries a hash of the source, the compiler
flags and the torch version; every later process loads it from there, with no build tool. Nothing is compiled at
install time (``pip install tnrnn[fast]`` adds ninja, the build tool; a C++ compiler is the
other need), and a machine without them runs the Python loops, with one warning.

``TNRNN_LOOPS`` chooses:

- ``auto`` (default): compiled if it builds, else Python (with a warning);
- ``compiled``: compiled, and an error if it does not build;
- ``python``: the Python loops, nothing built.

Examples
--------
>>> from tnrnn.nn import _compiled
>>> _compiled.loops_setting({"TNRNN_LOOPS": "python"})
'python'
>>> _compiled.loops_setting({"TNRNN_LOOPS": "fast"})
Traceback (most recent call last):
...
ValueError: environment variable TNRNN_LOOPS='fast' is not a loop setting; valid: auto, compiled, python
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import threading
import warnings
from collections.abc import Mapping
from pathlib import Path

__all__ = ["ENV_VAR", "SETTINGS", "loops_setting", "compiled_loops", "compiled_ops_for", "library_path"]

#: The environment variable that chooses the loops.
ENV_VAR = "TNRNN_LOOPS"
#: Its values.
SETTINGS = ("auto", "compiled", "python")

SOURCE = Path(__file__).with_name("_loops.cpp")
# no fused multiply-add contraction: every operation rounds as torch's do
_FLAGS = ("-O3", "-ffp-contract=off")

_lock = threading.Lock()
_loaded: dict[str, object] = {}  # "ops" -> the op namespace, or "failed" -> the build error


def loops_setting(env: Mapping[str, str] | None = None) -> str:
    """``TNRNN_LOOPS`` of ``env`` (default ``os.environ``), checked; ``auto`` when unset or empty."""
    env = os.environ if env is None else env
    value = env.get(ENV_VAR, "").strip().lower() or "auto"
    if value not in SETTINGS:
        raise ValueError(f"environment variable {ENV_VAR}={env.get(ENV_VAR)!r} is not a loop setting; "
                         f"valid: {', '.join(SETTINGS)}")
    return value


def library_path() -> Path:
    """Where the built library is cached: ``TORCH_EXTENSIONS_DIR`` (else torch's default) / a name
    carrying a hash of the source, the compiler flags and the torch version."""
    import torch
    from torch.utils import cpp_extension

    digest = hashlib.sha256(SOURCE.read_bytes() + repr((torch.__version__, _FLAGS)).encode()).hexdigest()[:12]
    root = Path(os.environ.get("TORCH_EXTENSIONS_DIR") or cpp_extension.get_default_build_root())
    return root / f"tnrnn_loops_{digest}.so"


def _build():
    import torch
    from torch.utils import cpp_extension

    library = library_path()
    root, name = library.parent, library.stem
    if library.exists():
        try:
            torch.ops.load_library(str(library))
            return torch.ops.tnrnn_loops
        except OSError:  # unreadable or cut short: built again below
            pass
    print(f"tnrnn: compiling the recurrence loops into {library} (once per machine and version, 10-40 s; "
          f"{ENV_VAR}=python skips it)", file=sys.stderr, flush=True)
    root.mkdir(parents=True, exist_ok=True)
    # Built in a directory of this process's own (no lock that a killed build could leave behind,
    # no half-written library where another process looks), then renamed into place.
    with tempfile.TemporaryDirectory(dir=root, prefix=f"{name}.") as scratch:
        # ninja installed into this environment (the "fast" extra) is found even when it is not activated
        path = os.environ.get("PATH", "")
        os.environ["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), path])
        try:
            cpp_extension.load(name=name, sources=[str(SOURCE)], build_directory=scratch, is_python_module=False,
                               extra_cflags=list(_FLAGS), verbose=False)
        finally:
            os.environ["PATH"] = path
        os.replace(Path(scratch) / f"{name}.so", library)
    return torch.ops.tnrnn_loops


def compiled_loops(env: Mapping[str, str] | None = None):
    """The compiled loops' op namespace (``forward_loop``, ``backward_loop``), or None for the Python loops.

    Built at most once per process; a failed build is not retried. Raises ``RuntimeError``
    if ``TNRNN_LOOPS=compiled`` and the build fails, ``ValueError`` for a bad setting.
    """
    setting = loops_setting(env)
    if setting == "python":
        return None
    with _lock:
        if "ops" not in _loaded and "failed" not in _loaded:
            try:
                _loaded["ops"] = _build()
            except Exception as error:  # no compiler, no ninja, a broken toolchain: the Python loops
                _loaded["failed"] = error
                if setting == "auto":
                    warnings.warn(f"tnrnn: the compiled recurrence loops did not build ({type(error).__name__}: "
                                  f"{str(error).strip().splitlines()[-1] if str(error).strip() else ''}); "
                                  f"training runs the Python loops (the same numbers, slower). Set "
                                  f"{ENV_VAR}=python to skip the build.", RuntimeWarning, stacklevel=3)
    if "failed" in _loaded:
        if setting == "compiled":
            raise RuntimeError(f"{ENV_VAR}=compiled, but the recurrence loops did not build: "
                               f"{_loaded['failed']}") from _loaded["failed"]
        return None
    return _loaded["ops"]


def compiled_ops_for(device):
    """The compiled ops for tensors on ``device`` (:func:`compiled_loops`; they run on CPU only), or None."""
    return compiled_loops() if device.type == "cpu" else None
