"""``tnrnn rank``: the generic Start-End (or any partition) rank of an architecture.

``--profile`` ranks every cut k = 1..T-1 instead (``--cuts`` to choose some), with
``--plot FILE`` to draw the profile. Interrupting a profile (Ctrl-C) prints the cuts already
finished, then exits with status 130.
"""

from __future__ import annotations

from tnrnn._files import output_file
from tnrnn.cli._common import (
    add_architecture,
    add_force,
    add_json,
    add_max_bytes,
    add_max_seconds,
    add_partition,
    add_progress,
    format_table,
    positive_int,
    prime_int,
    print_json,
    progress,
    seed_int,
    spec_from,
)
from tnrnn.guards import check_rank_work

HELP = "exact generic separation rank of a RAC architecture, with its proven interval"

_METHODS = ("auto", "dense", "tn", "scalable")


def add_arguments(parser) -> None:
    from tnrnn.exact.modular import DEFAULT_PRIME
    from tnrnn.ranks.results import LARGE_PRIME, TARGET_FAILURE

    add_architecture(parser)
    add_partition(parser)
    parser.add_argument("--method", default="auto", choices=_METHODS, help="auto (default), dense, tn or scalable")
    parser.add_argument("--draws", type=positive_int, default=3, help="random weight draws (default 3)")
    parser.add_argument("--prime", type=prime_int, default=None,
                        help=f"modulus, a prime below 2**31 (default: automatic, {DEFAULT_PRIME:,} then, for a "
                             f"rank not certified, draws mod {LARGE_PRIME:,} until its failure bound is "
                             f"at most {TARGET_FAILURE:g} where affordable)")
    parser.add_argument("--seed", type=seed_int, default=0, help="seed of the first draw (default 0)")
    parser.add_argument("--profile", action="store_true",
                        help="rank at every cut k = 1..T-1 (ignores --partition)")
    parser.add_argument("--cuts", type=positive_int, nargs="+", default=None,
                        help="with --profile: only these cuts")
    parser.add_argument("--plot", default=None, metavar="FILE",
                        help="with --profile: save the profile plot (.png or .svg) here")
    add_force(parser)
    add_max_bytes(parser)
    add_max_seconds(parser)
    add_progress(parser)
    add_json(parser)


def run(args) -> int:
    if args.profile:
        return _run_profile(args)
    if args.cuts is not None or args.plot is not None:
        raise ValueError("--cuts and --plot need --profile")
    from tnrnn.rac.bounds import format_count
    from tnrnn.ranks.router import generic_rank

    spec = spec_from(args)
    # generic_rank plans first (tnrnn.ranks.plan): route, memory and time, refused before any draw
    result = generic_rank(spec, args.length, args.partition, method=args.method,
                          draws=args.draws, prime=args.prime, seed=args.seed, max_bytes=args.max_bytes)
    if args.json:
        out = result.to_dict()
        out.update(templates=args.templates, hidden=args.hidden, depth=args.depth,
                   length=args.length, partition=args.partition)
        print_json(out)
        return 0
    rows = [["rank at random weights", result.rank],
            ["generic rank interval", f"[{format_count(result.lower)}, {format_count(result.upper)}]"],
            ["kind", result.kind],
            ["failure bound", _bound_text(result)],
            ["method", result.method], ["primes", _primes_text(result.primes)],
            ["seconds", f"{result.seconds:.3f}"]]
    print(f"M={args.templates} R={args.hidden} L={args.depth} T={args.length} "
          f"partition={args.partition}")
    print(format_table(["quantity", "value"], rows))
    print(result.describe())
    return 0


def _run_profile(args) -> int:
    import time

    from tnrnn.ranks.cuts import RankProfile, iter_rank_profile, plot_rank_profile

    spec = spec_from(args)
    cuts = len(args.cuts) if args.cuts is not None else args.length - 1
    check_rank_work(args.depth, args.length, args.draws * max(cuts, 1), args.max_seconds)
    if args.partition != "start-end":
        raise ValueError(f"--profile ranks every contiguous cut; drop --partition {args.partition!r}")
    if args.length < 2:
        raise ValueError(f"--profile needs --length >= 2 (a cut at k=1..T-1), got {args.length}")
    if args.cuts is not None and not all(1 <= k < args.length for k in args.cuts):
        raise ValueError(f"--cuts must lie in [1, {args.length - 1}] for --length {args.length}, got {args.cuts}")
    if args.plot:  # refuse a bad location or an existing file before the work
        from tnrnn._outputs import check_replace

        check_replace(output_file(args.plot, "--plot", (".png", ".svg")), "--plot", args.force)
    start = time.perf_counter()
    stream = iter_rank_profile(spec, args.length, cuts=args.cuts, method=args.method, draws=args.draws,
                               prime=args.prime, seed=args.seed, max_bytes=args.max_bytes,
                               progress=progress(args))
    results: dict = {}
    profile = RankProfile(spec, args.length)
    try:
        for k, result in stream:
            results[k] = result
    except KeyboardInterrupt:
        profile.complete = False
        raise
    finally:
        profile.cuts = sorted(results)
        profile.results = [results[k] for k in profile.cuts]
        profile.method = profile.results[0].method if profile.results else args.method
        profile.seconds = time.perf_counter() - start
        if profile.results:
            _print_profile(profile, args)  # printed before any later failure (the plot)
    if args.plot:
        plot_rank_profile(profile, args.plot)
        if not args.json:
            print(f"plot written to {args.plot}")
    return 0


def _print_profile(profile, args) -> None:
    from tnrnn.rac.bounds import format_count

    if args.json:
        print_json(profile.to_dict())
        return
    spec = profile.spec
    print(f"M={spec.templates} R={spec.hidden} L={spec.depth} T={profile.length}: rank at every cut "
          f"(method {profile.method}{'' if profile.complete else ', INTERRUPTED: partial'})")
    rows = [[k, r.rank, f"[{format_count(r.lower)}, {format_count(r.upper)}]", r.kind,
             _bound_text(r), f"{r.seconds:.2f}"] for k, r in zip(profile.cuts, profile.results)]
    print(format_table(["cut k", "rank", "interval", "kind", "failure bound", "s"], rows))
    print(f"largest rank {max(profile.ranks)} at cut k={profile.argmax}; "
          f"{sum(r.certified for r in profile.results)}/{len(profile.results)} certified; "
          f"{profile.seconds:.2f} s")



def _bound_text(result) -> str:
    """The failure bound as printed: ``-`` where none applies (certified, or a lower bound)."""
    if result.certified or result.failure_bound is None:
        return "-"
    return f"{result.failure_bound:.2g}"


def _primes_text(primes: list[int]) -> str:
    """The modulus of each draw, grouped: ``8,388,593 x 3, 2,147,483,647 x 1``."""
    groups: list[list[int]] = []
    for prime in primes:
        if groups and groups[-1][0] == prime:
            groups[-1][1] += 1
        else:
            groups.append([prime, 1])
    return ", ".join(f"{prime:,} x {count}" for prime, count in groups)
