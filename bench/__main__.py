"""``python -m bench [name ...] [--scale S] [--repeat N] [--format gpkg|fgb]``

Runs each benchmark and prints its table: best and median seconds of every approach, the
ratio to the reference approach measured in the same run, the peak RSS of the process that
did the work, row counts and checksums. Data sets are generated once under bench/out/data.
"""
from __future__ import annotations

import argparse
import sys
import time

from bench.common import format_report

BENCHMARKS = ("load_buildings",)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[2])
    ap.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the city size (0.1 = quick)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per approach, interleaved (best is kept)")
    ap.add_argument("--format", default="gpkg", choices=("gpkg", "fgb"), help="input file format")
    ap.add_argument("--only", help="comma-separated approaches (e.g. bulk,ogr2ogr)")
    ap.add_argument("--keep-db", action="store_true", help="keep the scratch database")
    args = ap.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    failed = False
    for name in names:
        mod = __import__(f"bench.{name}", fromlist=["run"])
        kw = {"scale": args.scale, "repeat": args.repeat, "fmt": args.format, "keep_db": args.keep_db}
        if args.only:
            kw["approaches"] = tuple(args.only.split(","))
        t0 = time.perf_counter()
        rep = mod.run(**kw)
        print(format_report(rep))
        print(f"  ({name} took {time.perf_counter() - t0:.0f} s in all)\n", flush=True)
        failed |= any(r.checksum_ok is False for r in rep.rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
