"""``wangge import`` and ``wangge export``: the CLI side of :mod:`api.io`."""
from __future__ import annotations

import getpass
import json
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

console = Console()
_STAGES = {"read": "读取 / reading", "validate+write": "校验并写入 / validating + writing",
           "derive": "归属网格 / assigning grids"}


class RichProgress:
    """Progress on the terminal: a spinner per stage, a bar while rows are written."""

    def __init__(self, enabled: bool = True) -> None:
        self.bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                            TextColumn("{task.completed:,}/{task.total:,}"), TimeElapsedColumn(),
                            console=console, disable=not enabled, transient=False)
        self.task = None

    def __enter__(self) -> "RichProgress":
        self.bar.__enter__()
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None and self.task is not None:
            self.bar.update(self.task, completed=self.bar.tasks[self.task].total or 0)
        self.bar.__exit__(exc_type, exc, tb)

    def stage(self, name: str, total: int | None = None) -> None:
        if self.task is not None:
            self.bar.update(self.task, completed=self.bar.tasks[self.task].total or 0)
        self.task = self.bar.add_task(_STAGES.get(name, name), total=total or 1)

    def advance(self, n: int) -> None:
        if self.task is not None:
            self.bar.advance(self.task, n)


def import_cmd(
    layer: str = typer.Argument(..., help="grids, buildings, cameras, key_sites, roads, service_centres, incidents, staff"),
    file: Path = typer.Argument(..., exists=True, dir_okay=False, help="GeoJSON, GeoPackage, Shapefile .zip or CSV"),
    jurisdiction: Optional[str] = typer.Option(None, "--jurisdiction", "-j", help="Jurisdiction code (if several)"),
    coords: str = typer.Option("wgs84", help="Coordinates as given: wgs84, gcj02 (Amap/Tencent) or bd09 (Baidu)"),
    mapping: Optional[List[str]] = typer.Option(None, "--map", help="field=COLUMN, e.g. households=HH_COUNT (repeatable)"),
    crs: Optional[str] = typer.Option(None, help="CRS of the coordinates (EPSG code), overriding the file's"),
    encoding: Optional[str] = typer.Option(None, help="Text encoding (e.g. gbk) when the file does not say"),
    source_layer: Optional[str] = typer.Option(None, help="Layer inside a multi-layer file (GeoPackage)"),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON"),
) -> None:
    """Import FILE into LAYER: all rows or none (every bad row is listed)."""
    from api.db.session import transaction
    from api.io import ImportOptions, import_file
    from api.io.mapping import parse_map_options
    opts = ImportOptions(jurisdiction=jurisdiction, coords=coords, mapping=parse_map_options(mapping),
                         crs=crs, encoding=encoding, source_layer=source_layer)
    with RichProgress(enabled=not as_json) as progress, transaction(actor=f"cli:{_user()}") as s:
        result = import_file(s, layer, file, opts, progress)
    if as_json:
        console.print_json(json.dumps(result.as_dict(), ensure_ascii=False))
        return
    _print_import(result)


def _print_import(r) -> None:
    console.print(f"[green]已导入 {r.rows_written:,} 行到 {r.layer}（辖区 {r.jurisdiction}）/ "
                  f"imported {r.rows_written:,} rows in {r.seconds:.1f} s ({r.rows_per_second:,.0f} rows/s)[/green]")
    console.print("字段映射 / mapping: " + ", ".join(f"{k} ← {v}" for k, v in r.mapping.items()))
    for m in r.messages:
        console.print(f"[yellow]{m['zh-CN']} / {m['en']}[/yellow]")
    if r.grid_assignment:
        console.print("归属网格 / assigned to grids: " + ", ".join(f"{k} {v:,}" for k, v in r.grid_assignment.items()))


def export_cmd(
    layer: str = typer.Argument(..., help="A layer key, or staff"),
    file: Path = typer.Argument(..., dir_okay=False, help="Output file (.geojson, .gpkg, .zip, .kml, .csv)"),
    jurisdiction: Optional[str] = typer.Option(None, "--jurisdiction", "-j"),
    fmt: Optional[str] = typer.Option(None, "--format", help="geojson, gpkg, shp, kml or csv (default: from FILE)"),
    bbox: Optional[str] = typer.Option(None, help="minx,miny,maxx,maxy (lon/lat)"),
    grid: Optional[str] = typer.Option(None, help="Only features in this grid (code)"),
) -> None:
    """Export LAYER to FILE."""
    from api.db.session import transaction
    from api.io import importable_spec
    from api.io.export import export_layer, parse_bbox
    spec = importable_spec(layer)
    with transaction() as s:
        r = export_layer(s, spec, file, fmt, jurisdiction, parse_bbox(bbox), grid)
    console.print(f"[green]已导出 {r.rows:,} 行 → {r.path}（{r.format.key}）/ exported {r.rows:,} rows[/green]")


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"


def register(app: typer.Typer) -> None:
    """Add the ``import`` and ``export`` commands to the ``wangge`` CLI."""
    app.command("import")(import_cmd)
    app.command("export")(export_cmd)
