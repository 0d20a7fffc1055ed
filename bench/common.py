"""What every benchmark shares: scratch databases, timed child processes with their peak
memory, the result table.

Each approach runs in its own child process (``os.wait4`` gives that child's peak RSS), one
after the other and interleaved over repeats, so that a noisy machine hits every approach
alike; ratios are taken against the reference approach measured in the same run.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"


def base_url() -> str:
    url = os.environ.get("DATABASE_URL")
    if not url:
        env = ROOT / ".local" / "db.env"
        if env.exists():
            for line in env.read_text().splitlines():
                if line.startswith("DATABASE_URL="):
                    url = line.split("=", 1)[1]
    if not url:
        raise SystemExit("DATABASE_URL is not set and .local/db.env is missing: run `make db` first")
    return url


def _admin(url: str, sql: str) -> None:
    eng = create_engine(make_url(url).set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with eng.connect() as c:
            c.execute(text(sql))
    finally:
        eng.dispose()


class ScratchDatabase:
    """A fresh database migrated to head (PostGIS comes from template1); dropped on exit."""

    def __init__(self, prefix: str = "wangge_bench", keep: bool = False):
        self.name = f"{prefix}_{uuid.uuid4().hex[:8]}"
        self.keep = keep
        self.url = make_url(base_url()).set(database=self.name).render_as_string(hide_password=False)

    def __enter__(self) -> "ScratchDatabase":
        from api.db.migrate import upgrade
        _admin(self.url, f'CREATE DATABASE "{self.name}"')
        upgrade(self.url)
        return self

    def __exit__(self, *exc) -> None:
        if not self.keep:
            _admin(self.url, f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def engine(self):
        return create_engine(self.url, isolation_level="AUTOCOMMIT")

    @property
    def parts(self) -> URL:
        return make_url(self.url)

    def pg_dsn(self) -> str:
        """A GDAL ``PG:`` connection string without the password (given as PGPASSWORD)."""
        u = self.parts
        return f"PG:dbname={u.database} host={u.host} port={u.port or 5432} user={u.username}"


@dataclass
class Run:
    seconds: float
    peak_rss_mb: float
    detail: dict = field(default_factory=dict)


# A small launcher forks and execs the command and reports the child's peak RSS: measured
# from our own (large) process, exec would carry our high-water mark into the child's figure.
_LAUNCH = ("import os, sys\n"
           "pid = os.fork()\n"
           "if pid == 0:\n    os.execvp(sys.argv[2], sys.argv[2:])\n"
           "_, st, ru = os.wait4(pid, 0)\n"
           "open(sys.argv[1], 'w').write(str(ru.ru_maxrss))\n"
           "sys.exit(os.waitstatus_to_exitcode(st))\n")


def run_child(cmd: list[str], env: dict | None = None, timed_inside: bool = False) -> Run:
    """Run ``cmd``; wall time (or, with ``timed_inside``, the ``seconds`` the child prints as
    the last JSON line, excluding its interpreter start-up) and the child's peak RSS."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss:
        t0 = time.perf_counter()
        p = subprocess.run([sys.executable, "-c", _LAUNCH, rss.name, *cmd], capture_output=True,
                           env={**os.environ, **(env or {})}, cwd=ROOT)
        wall = time.perf_counter() - t0
        if p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:3])}… failed ({p.returncode}):\n"
                               f"{p.stderr.decode(errors='replace')[-3000:]}")
        peak_kb = int(open(rss.name).read() or 0)
    detail = json.loads(p.stdout.decode().strip().splitlines()[-1]) if timed_inside else {}
    return Run(detail.pop("seconds", wall), peak_kb / 1024, detail)


def python_child(module: str, args: dict) -> list[str]:
    return [sys.executable, "-m", module, "--worker", json.dumps(args)]


@dataclass
class Row:
    approach: str
    runs: list[Run]
    rows: int | None = None
    checksum_ok: bool | None = None
    note: str = ""

    @property
    def best(self) -> float:
        return min(r.seconds for r in self.runs)

    @property
    def median(self) -> float:
        return statistics.median(r.seconds for r in self.runs)

    @property
    def peak_mb(self) -> float:
        return max(r.peak_rss_mb for r in self.runs)


@dataclass
class Report:
    title: str
    rows: list[Row]
    reference: str
    notes: list[str] = field(default_factory=list)

    def row(self, approach: str) -> Row:
        return next(r for r in self.rows if r.approach == approach)


def format_report(rep: Report) -> str:
    ref = rep.row(rep.reference)
    head = ["approach", "best s", "median s", "runs", "vs ref (best)", "peak RSS MB", "rows", "checksum"]
    lines = []
    for r in rep.rows:
        ratio = r.best / ref.best if ref.best > 0 else float("nan")
        lines.append([r.approach, f"{r.best:.2f}", f"{r.median:.2f}", str(len(r.runs)),
                      f"{ratio:.2f}x" + (" (ref)" if r is ref else ""), f"{r.peak_mb:.0f}",
                      "" if r.rows is None else f"{r.rows:,}",
                      {True: "ok", False: "MISMATCH", None: ""}[r.checksum_ok]])
    widths = [max(len(h), *(len(x[i]) for x in lines)) for i, h in enumerate(head)]
    fmt = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    out = [rep.title, fmt(head), fmt(["-" * w for w in widths])] + [fmt(x) for x in lines]
    out += [f"  {r.approach}: {r.note}" for r in rep.rows if r.note]
    out += [f"  note: {n}" for n in rep.notes]
    return "\n".join(out)
