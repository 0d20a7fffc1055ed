"""``wangge grids ...``: validation (exit code 1 on errors) and proposals."""
from __future__ import annotations

import json
import sys
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def register(app: typer.Typer) -> None:
    grids = typer.Typer(help="Grids: validation, proposals", no_args_is_help=True)
    app.add_typer(grids, name="grids")

    _fix_cmd(grids)

    @grids.command("validate")
    def validate(jurisdiction: Optional[str] = typer.Option(None, help="jurisdiction code"),
                 parent: Optional[str] = typer.Option(None, help="validate only this grid's subtree"),
                 format: str = typer.Option("table", help="table | json | geojson"),
                 lang: str = typer.Option("zh-CN", help="zh-CN | en")) -> None:
        """Check every grid rule; exits with status 1 when any error-severity rule breaks."""
        from api import grids as svc
        from api.db import repo
        from api.db.session import transaction
        with transaction() as s:
            j = repo.jurisdiction_by_code(s, jurisdiction)
            vs = svc.validate_jurisdiction(s, j, parent)
            fc = svc.violations_geojson(vs, j.metric_epsg)
        if format == "geojson":
            sys.stdout.write(json.dumps(fc, ensure_ascii=False) + "\n")
        elif format == "json":
            sys.stdout.write(json.dumps({"summary": svc.summary(vs), "violations": [v.as_dict() for v in vs]},
                                        ensure_ascii=False) + "\n")
        else:
            _table(vs, lang)
        if any(v.severity == "error" for v in vs):
            raise typer.Exit(1)


def _fix_cmd(grids: typer.Typer) -> None:
    @grids.command("fix-slivers")
    def fix_slivers(parent: str = typer.Option(..., help="grid whose children are fixed"),
                    jurisdiction: Optional[str] = typer.Option(None, help="jurisdiction code"),
                    dry_run: bool = typer.Option(False, "--dry-run", help="show, save nothing")) -> None:
        """Snap away sliver gaps and overlaps (below WANGGE_SLIVER_TOLERANCE_M) among PARENT's children."""
        from api import grids as svc
        from api.db import repo
        from api.db.session import transaction
        with transaction(actor="cli") as s:
            j = repo.jurisdiction_by_code(s, jurisdiction)
            res = svc.op_fix_slivers(s, j, parent, dry_run=dry_run, actor="cli")
        b, a = svc.summary(res.before), svc.summary(res.after)
        console.print(f"changed: {', '.join(res.changed) or '-'}; slivers before {b['by_kind']}, after {a['by_kind']}"
                      + (" (dry run, nothing saved)" if dry_run else ""))


def _table(vs, lang: str) -> None:
    en = lang.startswith("en")
    t = Table("severity", "kind", "grids", "value", "limit", "message", title="Grid rules" if en else "网格规则校验")
    for v in sorted(vs, key=lambda v: (v.severity != "error", v.kind)):
        style = "red" if v.severity == "error" else "yellow"
        t.add_row(f"[{style}]{v.severity}[/{style}]", v.kind, " ".join(v.grids),
                  "" if v.value is None else f"{v.value:g}", "" if v.limit is None else f"{v.limit:g}",
                  v.en if en else v.zh)
    console.print(t)
    n_err = sum(v.severity == "error" for v in vs)
    console.print(f"{n_err} errors, {len(vs) - n_err} warnings" if en else f"错误 {n_err} 个，警告 {len(vs) - n_err} 个")
