"""``wangge demo``: the synthetic demo town — write it to files, or load it into PostGIS.

    wangge demo load [--if-missing] [--defects] [--seed N] [--replace]
    wangge demo generate --out DIR [--scale town|city] [--defects] [--seed N] [--format gpkg,fgb]

The town is fictional (示范镇（演示数据）, code 330521199, in 德清县 330521); ``--defects``
makes the variant 330521198 with one of each sample grid mistake, for trying the validators.
"""
from __future__ import annotations

import time
from enum import Enum
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import (BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn,
                           TimeElapsedColumn)
from rich.table import Table

console = Console()
DEFAULT_SEED = 20250521  # == data.demo.DEFAULT_SEED (not imported here: keeps `wangge --help` fast)


class Scale(str, Enum):
    town = "town"
    city = "city"


def register(app: typer.Typer) -> None:
    demo = typer.Typer(help="演示数据（虚构的示范镇）/ Synthetic demo town: generate files or load into PostGIS",
                       no_args_is_help=True)
    demo.command("load")(load)
    demo.command("generate")(generate)
    app.add_typer(demo, name="demo")


class StageBar:
    """A rich progress bar driven by ``callback(stage[, advance])`` calls (by default one call
    = one step done); ``total=`` may be given by generators that count."""

    def __init__(self, progress: Progress, total: int | None):
        self.progress = progress
        self.task = progress.add_task("…", total=total)

    def __call__(self, stage: str | None = None, advance: float = 1, total: float | None = None,
                 **kwargs) -> None:
        if total is not None:
            self.progress.update(self.task, total=total)
        self.progress.update(self.task, description=str(stage) if stage is not None else None,
                             advance=advance)


def _bar() -> Progress:
    return Progress(SpinnerColumn(), TextColumn("[bold]{task.description}"), BarColumn(),
                    MofNCompleteColumn(), TimeElapsedColumn(), console=console, transient=True)


def load(
    if_missing: bool = typer.Option(False, "--if-missing", help="Do nothing if the demo town is already loaded"),
    defects: bool = typer.Option(False, "--defects", help="Load the variant with one of each sample defect (330521198)"),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Random seed: same seed, same town"),
    replace: bool = typer.Option(False, "--replace", help="Delete and reload the demo town if it exists"),
) -> None:
    """Generate the demo town and load it into the database (one transaction)."""
    from data.demo import DEFECT_TOWN_CODE, STAGES, TOWN_CODE
    from data.load import LOAD_STAGES, load_demo
    t0 = time.perf_counter()
    with _bar() as progress:
        summary = load_demo(seed=seed, defects=defects, if_missing=if_missing, replace=replace,
                            progress=StageBar(progress, len(STAGES) + LOAD_STAGES))
    if summary is None:
        code = DEFECT_TOWN_CODE if defects else TOWN_CODE
        console.print(f"[yellow]演示辖区 {code} 已存在，跳过 / demo jurisdiction {code} exists: skipped[/yellow]")
        return
    print_summary(summary, time.perf_counter() - t0)


def generate(
    out: Path = typer.Option(..., "--out", help="Folder for the files (created if missing)"),
    scale: Scale = typer.Option(Scale.town, "--scale", help="town: the demo town; city: the city-scale set"),
    defects: bool = typer.Option(False, "--defects", help="Inject one of each sample defect (town scale)"),
    seed: int = typer.Option(DEFAULT_SEED, "--seed", help="Random seed: same seed, same data"),
    formats: str = typer.Option(None, "--format",
                                help="Comma-separated: gpkg, fgb (town default: both; city: one, default fgb)"),
) -> None:
    """Write the demo data set to files: one GeoPackage / FlatGeobuf per layer, CSVs, manifest."""
    t0 = time.perf_counter()
    fmts = tuple(f.strip().lower() for f in (formats or "").split(",") if f.strip())
    bad = sorted(set(fmts) - {"gpkg", "fgb"})
    if bad:
        raise typer.BadParameter(f"unknown format(s): {', '.join(bad)} (use gpkg, fgb)", param_hint="--format")
    if scale is Scale.city:
        generate_city_files(out, seed, fmts)
        return
    from data.demo import LAYER_FILES, STAGES, generate_town, write_town
    fmts = fmts or ("gpkg", "fgb")
    with _bar() as progress:
        bar = StageBar(progress, len(STAGES) + len(LAYER_FILES))
        town = generate_town(seed=seed, defects=defects, progress=bar)
        t_gen = time.perf_counter() - t0
        files = write_town(town, out, fmts, progress=bar)
    s = town.summary()
    table = Table("layer / 图层", "features / 要素数", title=f"{town.name} {town.code} → {out}")
    for key in ("grids", "buildings", "roads", "key_sites", "service_centres", "cameras", "incidents"):
        table.add_row(key, str(len(town.layers[key])))
    table.add_row("households / 户数", str(s["households"]))
    table.add_row("staff / 人员", str(s["staff"]))
    console.print(table)
    for d in town.defects:
        console.print(f"  [red]defect[/red] {d['kind']}: {d['zh']}")
    console.print(f"[green]{len(files)} files; generated in {t_gen:.1f} s, "
                  f"written in {time.perf_counter() - t0 - t_gen:.1f} s[/green]")


def generate_city_files(out: Path, seed: int, fmts: tuple[str, ...]) -> None:
    """The city-scale set (data.city, written separately; imported only when asked for)."""
    if len(fmts) > 1:
        raise typer.BadParameter("the city-scale set is written in one format", param_hint="--format")
    try:
        from data import city
    except ImportError as e:
        raise typer.BadParameter(f"the city-scale generator is not available here ({e})",
                                 param_hint="--scale") from None
    t0 = time.perf_counter()
    total = len(getattr(city, "GENERATE_STEPS", ())) or None
    kwargs = {"fmt": fmts[0]} if fmts else {}
    with _bar() as progress:
        files = city.generate_city(out, seed, progress=StageBar(progress, total), **kwargs)
    console.print(f"[green]city-scale data: {len(files or ())} layers written to {out} "
                  f"in {time.perf_counter() - t0:.1f} s[/green]")


def print_summary(summary: dict, seconds: float) -> None:
    c = summary["counts"]
    table = Table("", "数量 / count", title=f"{summary['name']} {summary['code']} (EPSG:{summary['metric_epsg']})")
    labels = {"grid": "网格 grids", "building": "建筑 buildings", "camera": "摄像机 cameras",
              "key_site": "重点部位 key sites", "road": "道路 roads", "service_centre": "服务中心 service centres",
              "incident": "事件 incidents", "staff": "人员 staff"}
    for k, label in labels.items():
        table.add_row(label, str(c.get(k, 0)))
    table.add_row("户数 households", str(summary["households"]))
    a = summary.get("assigned", {})
    table.add_row("落格 assigned to basic grids", f"{a.get('building', 0)} buildings, {a.get('incident', 0)} incidents")
    console.print(table)
    for d in summary.get("defects", []):
        console.print(f"  [red]defect[/red] {d['kind']}: {d['zh']}")
    console.print(f"[green]loaded in {seconds:.1f} s (database part {summary.get('seconds', 0):.1f} s)[/green]")
