"""Which modules a value passes through, following the calls at run time.

``python tools/trace_args.py`` runs two small cases, the ``length`` given to
``tnrnn.iter_rank_profile``-style profiling and the ``config`` given to training, and prints
for each the package modules whose functions received that very object as an argument.
A development tool for the house plan's measures, not part of the package.
"""

from __future__ import annotations

import sys
import tempfile


class TrackedInt(int):
    """An ``int`` whose identity can be followed (arithmetic on it gives plain ints)."""


def modules_reached(tracked: object, call, package: str = "tnrnn") -> list[str]:
    """Run ``call()`` and list the modules of ``package`` whose functions got ``tracked``."""
    seen: set[str] = set()

    def received(value) -> bool:
        if value is tracked:
            return True
        if isinstance(value, tuple):
            return any(v is tracked for v in value)
        if isinstance(value, dict):
            return any(v is tracked for v in value.values())
        return False

    def profiler(frame, event, arg):
        if event != "call":
            return
        module = frame.f_globals.get("__name__", "")
        if not module.startswith(package):
            return
        code = frame.f_code
        count = code.co_argcount + code.co_kwonlyargcount
        count += bool(code.co_flags & 0x04) + bool(code.co_flags & 0x08)
        if any(received(frame.f_locals.get(name)) for name in code.co_varnames[:count]):
            seen.add(module)

    sys.setprofile(profiler)
    try:
        call()
    finally:
        sys.setprofile(None)
    return sorted(seen)


def main() -> None:
    import tnrnn

    length = TrackedInt(8)
    spec = tnrnn.RACSpec(templates=2, hidden=2, depth=2)
    profile_modules = modules_reached(length, lambda: tnrnn.rank_profile(spec, length))
    print(f"length of rank_profile: {len(profile_modules)} modules: {', '.join(profile_modules)}")

    config = tnrnn.TrainConfig(task="copying", length=6, depth=1, hidden=4, steps=2, eval_every=1,
                               batch_size=4, val_size=8, test_size=8)
    from tnrnn.nn import train

    with tempfile.TemporaryDirectory() as out:
        train_modules = modules_reached(config, lambda: train(config, out, progress=False))
    print(f"config of train: {len(train_modules)} modules: {', '.join(train_modules)}")


if __name__ == "__main__":
    main()
