"""``wangge cameras-plan suggest``: where new cameras should go (the service of
POST /api/v1/cameras/suggest), with a progress bar."""
from __future__ import annotations

import json
import sys
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

console = Console(stderr=True)
STAGES = {"load": "读取图层 loading layers", "demand": "盲区栅格与候选点 demand cells & sites",
          "views": "候选视域与贪心求解 candidate views & lazy greedy", "done": "完成 done"}


def register(app: typer.Typer) -> None:
    plan = typer.Typer(help="Camera planning: where new cameras go", no_args_is_help=True)
    app.add_typer(plan, name="cameras-plan")

    @plan.command("suggest")
    def suggest(budget: int = typer.Option(..., min=1, max=200, help="new cameras to place"),
                jurisdiction: Optional[str] = typer.Option(None, help="jurisdiction code"),
                grid: Optional[str] = typer.Option(None, help="plan inside this grid (any level)"),
                hfov: float = typer.Option(90.0, help="horizontal field of view (°)"),
                range_m: float = typer.Option(40.0, "--range", help="effective range (m)"),
                spacing: float = typer.Option(15.0, help="candidate site spacing (m)"),
                azimuth_step: float = typer.Option(30.0, help="azimuths tried per site, every … °"),
                format: str = typer.Option("table", help="table | geojson")) -> None:
        """Suggest BUDGET new cameras covering the most incident-weighted blind-spot area of the key sites."""
        from api.db.session import transaction
        from api.routers.camera_plan import SuggestBody, plan_for, plan_geojson
        body = SuggestBody(jurisdiction=jurisdiction, budget=budget, hfov_deg=hfov, range_m=range_m,
                           spacing_m=spacing, azimuth_step_deg=azimuth_step, grid=grid)
        with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(),
                      console=console, transient=format != "table") as bar:
            task = bar.add_task(STAGES["load"], total=len(STAGES) - 1)

            def step(stage: str) -> None:
                bar.update(task, description=STAGES[stage], completed=list(STAGES).index(stage))

            with transaction() as s:
                j, plan, _ = plan_for(s, body, step)
        if format == "geojson":
            sys.stdout.write(json.dumps(plan_geojson(plan, j.metric_epsg), ensure_ascii=False) + "\n")
            return
        _table(plan)


def _table(plan) -> None:
    s = plan.suggestions.to_crs(4326)
    t = Table("#", "lon", "lat", "azimuth °", "gain m²", "gain (weighted)", "cumulative m²", "cumulative share")
    for i in range(len(s)):
        r = s.iloc[i]
        t.add_row(str(r["rank"]), f"{r.geometry.x:.6f}", f"{r.geometry.y:.6f}", f"{r['azimuth_deg']:.0f}",
                  f"{r['gain_m2']:.0f}", f"{r['gain_weighted']:.0f}", f"{r['cumulative_m2']:.0f}",
                  f"{100 * r['cumulative_share']:.1f}%")
    out = Console()
    out.print(t)
    out.print(f"blind-spot demand {plan.demand_m2:,.0f} m² (weighted {plan.demand_weight:,.0f}); covered "
              f"{plan.achieved_m2:,.0f} m² (weighted {plan.achieved_weight:,.0f}); at least "
              f"{100 * plan.quality:.1f}% of the optimum (upper bound {plan.upper_bound:,.0f}); "
              f"{plan.n_candidates:,} candidate views, {plan.evaluations:,} lazy re-evaluations")
