"""``wangge grids ...``: validation (exit code 1 on errors) and proposals."""
from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.table import Table

console = Console()


def register(app: typer.Typer) -> None:
    grids = typer.Typer(help="Grids: validation, proposals", no_args_is_help=True)
    app.add_typer(grids, name="grids")

    _fix_cmd(grids)
    _propose_cmds(grids)
    _print_cmd(grids)

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


def _print_cmd(grids: typer.Typer) -> None:
    @grids.command("print")
    def print_map(village: Optional[str] = typer.Option(None, help="village / community grid code"),
                  out: str = typer.Option(..., help="FILE.pdf or FILE.png; with --all, a folder"),
                  jurisdiction: Optional[str] = typer.Option(None, help="jurisdiction code"),
                  all_: bool = typer.Option(False, "--all", help="one file per village into the folder --out"),
                  format: Optional[str] = typer.Option(None, help="pdf | png (default: from --out, else pdf)"),
                  lang: str = typer.Option("zh-CN", help="zh-CN | en"),
                  dpi: int = typer.Option(150, min=72, max=300, help="PNG resolution")) -> None:
        """Print the A3 grid map (网格图) of a village, or of every village with --all."""
        from pathlib import Path
        from api import printing
        from api.auth import Principal
        from api.db.session import transaction
        target = Path(out)
        fmt = (format or (target.suffix.lstrip(".").lower() if not all_ else "") or "pdf").lower()
        if (village is None) == (not all_):
            raise typer.BadParameter("give --village CODE or --all")
        cli = Principal("admin", "cli")
        with transaction() as s:
            codes = printing.village_codes(s, cli, jurisdiction) if all_ else [village]
            for code in codes:
                m = printing.print_village(s, cli, code, jurisdiction, fmt=fmt, lang=lang, dpi=dpi)
                path = target / m.filename if all_ else target
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(m.content)
                console.print(f"{code}: {path}")


def _propose_cmds(grids: typer.Typer) -> None:
    @grids.command("propose")
    def propose(village: str = typer.Option(..., help="village / community grid code to split"),
                cap: Optional[int] = typer.Option(None, help="households per grid, at most (default: setting)"),
                target: Optional[int] = typer.Option(None, help="wished households per grid"),
                follow_roads: bool = typer.Option(True, help="boundaries along roads where possible"),
                seed: int = typer.Option(0, help="random seed (same seed, same proposal)"),
                lane_weight: Optional[float] = typer.Option(None, help="0–1: lanes as boundaries (default: by density)"),
                jurisdiction: Optional[str] = typer.Option(None, help="jurisdiction code"),
                out: Optional[Path] = typer.Option(None, help="write the draft GeoJSON here (else stdout)")) -> None:
        """Propose basic grids for VILLAGE (a draft: nothing is saved). Edit it, then apply-proposal."""
        from api import grids as svc
        from api.db import repo
        from api.db.session import transaction
        with transaction(actor="cli") as s:
            j = repo.jurisdiction_by_code(s, jurisdiction)
            fc = svc.propose_grids(s, j, village, cap=cap, target=target, follow_roads=follow_roads,
                                   seed=seed, lane_weight=lane_weight, actor="cli")
        text = json.dumps(fc, ensure_ascii=False)
        if out is None:
            sys.stdout.write(text + "\n")
        else:
            out.write_text(text, encoding="utf-8")
            _metrics_table(fc)
            console.print(f"draft written to {out}; errors in the draft: {fc['validation']['summary']['errors']}")

    @grids.command("apply-proposal")
    def apply(draft: Path = typer.Argument(..., exists=True, help="draft GeoJSON (from propose, maybe edited)"),
              village: str = typer.Option(..., help="village / community whose basic grids are replaced"),
              jurisdiction: Optional[str] = typer.Option(None, help="jurisdiction code"),
              dry_run: bool = typer.Option(False, "--dry-run", help="check, save nothing")) -> None:
        """Replace VILLAGE's basic grids by DRAFT in one transaction (refused if a rule breaks)."""
        from api import grids as svc
        from api.db import repo
        from api.db.session import transaction
        fc = json.loads(draft.read_text(encoding="utf-8"))
        with transaction(actor="cli") as s:
            j = repo.jurisdiction_by_code(s, jurisdiction)
            res = svc.apply_proposal(s, j, village, fc, dry_run=dry_run, actor="cli")
        console.print(f"replaced {len(res['replaced'])} grids by {len(res['created'])}"
                      + (" (dry run, nothing saved)" if dry_run else "")
                      + f"; {res['staff']['unassigned']} staff assignments to redo: {res['staff']['message']['en']}")


def _metrics_table(fc: dict) -> None:
    m = fc["metrics"]
    t = Table("metric", "value", title=f"Proposal for {fc['village']}")
    for key in ("cells", "min_cells", "households", "cap", "max_households", "min_households", "cv_households",
                "over_cap_share", "mean_polsby_popper", "road_on_boundary_share"):
        t.add_row(key, str(m.get(key)))
    console.print(t)


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
