"""``wangge cameras coverage|blindspots|kpi``: the camera analyses of the API, with progress bars.

The CLI runs as police (it reads camera positions): access is checked through :mod:`api.auth`
with the role given by ``--role`` (default police), so a planner's shell is refused the same way
the API refuses a planner."""
from __future__ import annotations

import json
import sys
from contextlib import contextmanager
from datetime import datetime
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console(stderr=True)
out = Console()
STEPS = {"cameras": "读取摄像机 / cameras", "buildings": "读取建筑 / buildings", "views": "计算可视域 / views",
         "union": "合并覆盖 / coverage union", "areas": "网格统计 / areas", "blind spots": "盲区 / blind spots",
         "kpi": "考核指标 / KPIs"}
FormatOpt = typer.Option("table", "--format", help="table | json | geojson")
JurOpt = typer.Option(None, "--jurisdiction", help="jurisdiction code")
RoleOpt = typer.Option("police", "--role", help="role the CLI acts as (police or admin may)")


@contextmanager
def _progress():
    cols = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*cols, console=console, transient=False) as p:
        task = p.add_task("…", total=len(STEPS))

        def step(name: str) -> None:
            p.update(task, advance=1, description=STEPS.get(name, name))
        yield step
        p.update(task, completed=len(STEPS), description="完成 / done")


@contextmanager
def _session(jurisdiction: str | None, role: str):
    from api.auth import Principal, require_read
    from api.db import repo
    from api.db.session import transaction
    from api.layers import LAYERS
    require_read(Principal(role, f"cli:{role}"), LAYERS["cameras"])
    with transaction() as s:
        yield s, repo.jurisdiction_by_code(s, jurisdiction)


def _emit(obj) -> None:
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, default=float) + "\n")


def register(app: typer.Typer) -> None:
    cams = typer.Typer(help="Cameras: coverage, blind spots, KPIs (police / admin)", no_args_is_help=True)
    app.add_typer(cams, name="cameras")

    @cams.command("coverage")
    def coverage(jurisdiction: Optional[str] = JurOpt, level: str = typer.Option("grid", help="grid | village | town"),
                 method: Optional[str] = typer.Option(None, help="exact | rays"),
                 format: str = FormatOpt, role: str = RoleOpt) -> None:
        """Covered share of key sites, public space and roads per area."""
        from api import cameras as svc
        from api.settings import get_settings
        with _session(jurisdiction, role) as (s, j), _progress() as step:
            rep = svc.coverage_report(s, j, get_settings(), level, method=method, step=step)
            if format == "geojson":
                return _emit(svc.areas_geojson(s, j, level, rep["areas"]))
        if format != "table":
            return _emit(rep)
        t = Table("code", "name", "public covered", "roads covered", "cameras", "/km²", "/1000 hh",
                  title=f"{j.code} coverage ({level})")
        for a in rep["areas"]:
            t.add_row(a["code"], a["name"], _pct(a["public_share_covered"]), _pct(a["road_share_covered"]),
                      str(a["cameras"]), str(a["cameras_per_km2"]), str(a["cameras_per_1000_households"]))
        out.print(t)
        out.print(f"key sites: {rep['key_site_status']}")

    @cams.command("blindspots")
    def blindspots(jurisdiction: Optional[str] = JurOpt,
                   min_area: Optional[float] = typer.Option(None, help="minimum area, m² (default: setting)"),
                   top: int = typer.Option(30, help="rows shown in the table"),
                   method: Optional[str] = typer.Option(None, help="exact | rays"),
                   as_of: Optional[datetime] = typer.Option(None, "--as-of", help="count incidents back from "
                                                           "this time (default now)"),
                   format: str = FormatOpt, role: str = RoleOpt) -> None:
        """Uncovered parts of must-cover places, ranked by incident density around them."""
        from api import cameras as svc
        from api.settings import get_settings
        with _session(jurisdiction, role) as (s, j), _progress() as step:
            fc = svc.blind_spots_report(s, j, get_settings(), min_area, method=method, as_of=as_of, step=step)
        if format != "table":
            return _emit(fc)
        t = Table("rank", "category", "site", "grid", "area m²", "priority", title=f"{j.code} blind spots: "
                  f"{fc['count']}, {fc['total_m2']} m²")
        for f in fc["features"][:top]:
            p = f["properties"]
            t.add_row(str(p["rank"]), p["category"], p["site_name"] or "", p["grid_code"] or "",
                      f"{p['area_m2']:.0f}", f"{p['priority']:.3f}")
        out.print(t)

    @cams.command("kpi")
    def kpis(jurisdiction: Optional[str] = JurOpt, level: str = typer.Option("village", help="grid | village | town"),
             method: Optional[str] = typer.Option(None, help="exact | rays"),
             format: str = FormatOpt, role: str = RoleOpt) -> None:
        """Networking, online, documented and key-area coverage rates against their targets."""
        from api import cameras as svc
        from api.settings import get_settings
        with _session(jurisdiction, role) as (s, j), _progress() as step:
            rep = svc.kpi_report(s, j, get_settings(), level, method=method, step=step)
            if format == "geojson":
                return _emit(svc.areas_geojson(s, j, level, rep["areas"]))
        if format != "table":
            return _emit(rep)
        keys = list(rep["targets"])[:-1]
        t = Table("code", "name", "cams", *keys, "light", title=f"{j.code} KPIs ({level})")
        for a in rep["areas"]:
            cells = [_kpi_cell(a["kpis"][k]) for k in keys]
            t.add_row(a["code"], a["name"], str(a["cameras"]), *cells, _light(a["status"]))
        out.print(t)
        r = rep["registry"]
        out.print(f"ID admin code ≠ {r['admin_code']}: {len(r['admin_mismatch'])}; "
                  f"stored 建档 flag disagrees: {len(r['documented_disagree'])}")


def _pct(v) -> str:
    return "—" if v is None else f"{v * 100:.1f}%"


def _light(s: str) -> str:
    return {"green": "[green]●[/green]", "amber": "[yellow]●[/yellow]", "red": "[red]●[/red]"}.get(s, "—")


def _kpi_cell(k: dict) -> str:
    return f"{_light(k['status'])} {_pct(k['value'])}"
