"""The ``wangge`` command line: bulk work beside the API, calling the same services."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

from api.errors import WanggeError

app = typer.Typer(help="Wangge 网格: grid management and video-coverage GIS", no_args_is_help=True,
                  pretty_exceptions_enable=False)
db_app = typer.Typer(help="Database schema (Alembic)", no_args_is_help=True)
jur_app = typer.Typer(help="Jurisdictions (towns, districts)", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(jur_app, name="jurisdiction")
console = Console()
err_console = Console(stderr=True)


@db_app.command("upgrade")
def db_upgrade(revision: str = "head") -> None:
    """Migrate the database (DATABASE_URL) to REVISION."""
    from api.db.migrate import upgrade
    upgrade(revision=revision)
    console.print(f"[green]schema at {revision}[/green]")


@jur_app.command("create")
def jurisdiction_create(
    boundary: Path = typer.Option(..., exists=True, help="Boundary file (GeoJSON, GPKG, SHP zip…)"),
    code: str = typer.Option(..., help="Administrative division code (6, 9 or 12 digits)"),
    name: str = typer.Option(..., help="Name (zh)"),
    name_en: Optional[str] = typer.Option(None, help="Name (en)"),
    metric_epsg: Optional[int] = typer.Option(None, help="Metric CRS; default: UTM zone of the boundary"),
) -> None:
    """Set up an empty jurisdiction from its boundary; its layers are imported afterwards."""
    import geopandas as gpd
    from api.db import repo
    from api.db.session import transaction
    gdf = gpd.read_file(boundary)
    with transaction(actor="cli") as s:
        j = repo.create_jurisdiction(s, code, name, gdf.geometry, name_en=name_en, metric_epsg=metric_epsg)
        console.print(f"[green]created jurisdiction {j.code} {j.name} (metric CRS EPSG:{j.metric_epsg})[/green]")


@jur_app.command("list")
def jurisdiction_list() -> None:
    """List jurisdictions with their layer counts."""
    from sqlalchemy import select
    from api.db import repo
    from api.db.models import Jurisdiction
    from api.db.session import transaction
    t = Table("code", "name", "EPSG", "grids", "buildings", "households", "cameras", "incidents")
    with transaction() as s:
        for j in s.scalars(select(Jurisdiction).order_by(Jurisdiction.code)):
            d = repo.jurisdiction_summary(s, j)
            c = d["counts"]
            t.add_row(d["code"], d["name"], str(d["metric_epsg"]), str(c["grid"]), str(c["building"]),
                      str(d["households"]), str(c["camera"]), str(c["incident"]))
    console.print(t)


@app.command("serve")
def serve(host: Optional[str] = None, port: Optional[int] = None) -> None:
    """Serve the API and dashboards."""
    import uvicorn
    from api.settings import get_settings
    s = get_settings()
    uvicorn.run("api.app:create_app", factory=True, host=host or s.host, port=port or s.port)


def _register_plugins() -> None:
    from api import cli_cameras, cli_demo, cli_grids, cli_io
    cli_io.register(app)
    cli_cameras.register(app)
    cli_grids.register(app)
    cli_demo.register(app)
    __import__("api.cli_camera_plan", fromlist=["register"]).register(app)


def main() -> None:
    _register_plugins()
    try:
        app()
    except WanggeError as e:
        from rich.markup import escape
        err_console.print(f"[red]{escape(str(e))}[/red]")
        sys.exit(2)
