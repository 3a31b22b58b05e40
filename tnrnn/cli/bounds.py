"""``tnrnn bounds``: the closed-form bounds of SCIENCE.md §4 for an architecture."""

from __future__ import annotations

from tnrnn.cli._common import add_architecture, add_partition, format_table, print_json, spec_from

HELP = "closed-form bounds on the generic separation rank (paper, derived, trivial)"


def add_arguments(parser) -> None:
    add_architecture(parser)
    add_partition(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from tnrnn.bounds import STATUS, bounds
    from tnrnn.partitions import parse_partition

    partition = parse_partition(args.partition, args.length)
    result = bounds(spec_from(args), args.length, partition)
    if args.json:
        print_json(result.to_dict())
        return 0
    values = result.to_dict()
    rows = [[name, "n/a" if values[name] is None else values[name], STATUS[name]] for name in STATUS]
    rows += [["lower", result.lower, "best proven lower bound"],
             ["upper", result.upper, "best upper bound"]]
    print(format_table(["bound", "value", "status"], rows))
    return 0
