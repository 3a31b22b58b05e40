"""``tnrnn rank``: the generic Start-End (or any partition) rank of an architecture."""

from __future__ import annotations

from tnrnn.cli._common import add_architecture, add_partition, format_table, print_json, spec_from

HELP = "exact generic separation rank of a RAC architecture, with its proven interval"


def add_arguments(parser) -> None:
    add_architecture(parser)
    add_partition(parser)
    parser.add_argument("--method", default="auto", help="auto (default), dense, tn or scalable")
    parser.add_argument("--draws", type=int, default=3, help="random weight draws (default 3)")
    parser.add_argument("--prime", type=int, default=None, help="modulus, a prime below 2**31")
    parser.add_argument("--seed", type=int, default=0, help="seed of the first draw")
    parser.add_argument("--json", action="store_true", help="print one JSON object")


def run(args) -> int:
    from tnrnn.modular import DEFAULT_PRIME
    from tnrnn.rank import generic_rank

    result = generic_rank(spec_from(args), args.length, args.partition, method=args.method,
                          draws=args.draws, prime=args.prime or DEFAULT_PRIME, seed=args.seed)
    if args.json:
        out = result.to_dict()
        out.update(templates=args.templates, hidden=args.hidden, depth=args.depth,
                   length=args.length, partition=args.partition)
        print_json(out)
        return 0
    rows = [["rank at random weights", result.rank],
            ["generic rank interval", f"[{result.lower}, {result.upper}]"],
            ["certified", "yes" if result.certified else "no"],
            ["failure bound", f"{result.failure_bound:.3g}"],
            ["method", result.method], ["prime", result.prime],
            ["seconds", f"{result.seconds:.3f}"]]
    print(f"M={args.templates} R={args.hidden} L={args.depth} T={args.length} "
          f"partition={args.partition}")
    print(format_table(["quantity", "value"], rows))
    print(result.describe())
    return 0
