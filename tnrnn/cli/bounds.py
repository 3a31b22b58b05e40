"""``tnrnn bounds``: the closed-form bounds on the generic separation rank of an architecture.

Bounds with more than 1000 digits are shown as ``~1.2e+45678`` (in JSON too, as a string);
every bound costs O(L + T) float operations, so any size answers at once.
"""

from __future__ import annotations

from tnrnn.cli._common import (
    add_architecture,
    add_json,
    add_max_bytes,
    add_partition,
    format_table,
    print_json,
    spec_from,
)

HELP = "closed-form bounds on the generic separation rank (paper, derived, trivial)"


def add_arguments(parser) -> None:
    add_architecture(parser)
    add_partition(parser)
    add_max_bytes(parser)
    add_json(parser)


def run(args) -> int:
    from tnrnn.rac.bounds import STATUS, bounds
    from tnrnn.rac.partitions import parse_partition

    spec = spec_from(args)
    partition = parse_partition(args.partition, args.length)
    result = bounds(spec, args.length, partition)
    values = result.to_dict()
    if args.json:
        print_json(values)
        return 0
    rows = [[name, "n/a" if values[name] is None else values[name], STATUS[name]] for name in STATUS]
    rows += [["lower", values["lower"], "best proven lower bound"],
             ["upper", values["upper"], "best upper bound"]]
    print(f"M={args.templates} R={args.hidden} L={args.depth} T={args.length} partition={result.partition}")
    print(format_table(["bound", "value", "status"], rows))
    return 0
