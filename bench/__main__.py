"""``python -m bench [name ...] [--scale S] [--repeat N] [--format gpkg|fgb]``

Runs each benchmark and prints its table: best and median seconds of every approach, the
ratio to the reference approach measured in the same run, the peak RSS of the process that
did the work, row counts and checksums. Data sets are generated once under bench/out/data.
"""
from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
import sys
import time
from pathlib import Path

from bench.common import format_report

_NOT_BENCHMARKS = {"common", "__main__"}
#: every module of this package with a ``run(...) -> Report`` (add a file to add a benchmark)
BENCHMARKS = tuple(sorted(m.name for m in pkgutil.iter_modules([str(Path(__file__).parent)])
                          if not m.ispkg and m.name not in _NOT_BENCHMARKS and not m.name.startswith("_")))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[2])
    ap.add_argument("names", nargs="*", help=f"benchmarks to run (default: all of {', '.join(BENCHMARKS)})")
    ap.add_argument("--scale", type=float, default=1.0, help="fraction of the city size (0.1 = quick)")
    ap.add_argument("--repeat", type=int, default=1, help="runs per approach, interleaved (best is kept)")
    ap.add_argument("--format", default="gpkg", choices=("gpkg", "fgb"), help="input file format (load_buildings)")
    ap.add_argument("--only", help="comma-separated approaches (e.g. bulk,ogr2ogr)")
    ap.add_argument("--keep-db", action="store_true", help="keep the scratch database")
    args = ap.parse_args(argv)
    names = args.names or list(BENCHMARKS)
    unknown = set(names) - set(BENCHMARKS)
    if unknown:
        ap.error(f"unknown benchmark(s): {', '.join(sorted(unknown))}")
    failed = False
    for name in names:
        mod = importlib.import_module(f"bench.{name}")
        if not hasattr(mod, "run"):
            continue
        kw = {"scale": args.scale, "repeat": args.repeat, "fmt": args.format, "keep_db": args.keep_db}
        if args.only:
            kw["approaches"] = tuple(args.only.split(","))
        accepted = inspect.signature(mod.run).parameters
        kw = {k: v for k, v in kw.items() if k in accepted}
        t0 = time.perf_counter()
        rep = mod.run(**kw)
        print(format_report(rep))
        print(f"  ({name} took {time.perf_counter() - t0:.0f} s in all)\n", flush=True)
        failed |= any(r.checksum_ok is False for r in rep.rows)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
