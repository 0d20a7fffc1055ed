"""Grid editing under the rules: every write validates the affected family in one locked
transaction and is refused (422, violations as GeoJSON) if it would break an error rule.
``dry_run=true`` (or POST /grids/dry-run) validates a proposed change without saving it."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, Field

from api import grids as svc
from api import printing
from api.auth import require_read, require_write
from api.db import grids as store
from api.db import repo
from api.deps import JurisdictionQ, LangDep, PrincipalDep, SessionDep
from api.errors import WanggeError
from api.layers import LAYERS

router = APIRouter(prefix="/grids", tags=["grids"])
GRIDS = LAYERS["grids"]
DryRun = Query(False, description="只校验不保存 / validate only, save nothing")


class CreateBody(BaseModel):
    name: str = Field(min_length=1)
    geometry: dict[str, Any]
    code: str | None = Field(None, pattern=r"^[0-9]+$", description="omit to number it after the parent's last child")
    parent: str | None = Field(None, pattern=r"^[0-9]+$")


class GeometryBody(BaseModel):
    geometry: dict[str, Any]


class SplitBody(BaseModel):
    line: dict[str, Any] = Field(description="GeoJSON LineString crossing the grid")
    names: list[str] | None = None


class MergeBody(BaseModel):
    codes: list[str] = Field(min_length=2)


class MoveBody(BaseModel):
    neighbour: str
    geometry: dict[str, Any] = Field(description="the new shape of this grid; the neighbour gets the rest")


class RestoreBody(BaseModel):
    version: int | None = Field(None, ge=1)
    at: datetime | None = Field(None, description="restore this grid and all its descendants to this time")


class ProposeBody(BaseModel):
    cap: int | None = Field(None, ge=1, le=100000, description="households per basic grid, at most (default: the jurisdiction's cap)")
    target: int | None = Field(None, ge=1, le=100000, description="wished households per grid (more, smaller grids)")
    follow_roads: bool = Field(True, description="grid boundaries along road centre lines where possible")
    seed: int = Field(0, ge=0, description="random seed: same seed, same proposal")
    lane_weight: float | None = Field(None, ge=0, le=1, description="how much lanes (巷道) should be boundaries "
                                      "(0 = ignore, 1 = like streets); default: by household density")


class ProposalBody(BaseModel):
    model_config = {"extra": "allow"}
    type: Literal["FeatureCollection"]
    features: list[dict[str, Any]] = Field(min_length=1)


class DryRunBody(BaseModel):
    operation: Literal["create", "reshape", "split", "merge", "delete", "move_boundary"]
    code: str | None = None
    parent: str | None = None
    name: str | None = None
    geometry: dict[str, Any] | None = None
    line: dict[str, Any] | None = None
    codes: list[str] | None = None
    neighbour: str | None = None


def _ctx(session, principal, jurisdiction, write=True):
    (require_write if write else require_read)(principal, GRIDS)
    return repo.jurisdiction_by_code(session, jurisdiction)


@router.get("/validate", summary="校验网格规则 / Validate all grid rules")
def validate(session: SessionDep, principal: PrincipalDep, jurisdiction: JurisdictionQ = None,
             parent: str | None = Query(None, pattern=r"^[0-9]+$")):
    j = _ctx(session, principal, jurisdiction, write=False)
    vs = svc.validate_jurisdiction(session, j, parent)
    return {"jurisdiction": j.code, "parent": parent, "summary": svc.summary(vs),
            "violations": svc.violations_geojson(vs, j.metric_epsg)}


@router.post("", summary="新建网格 / Create a grid", status_code=201)
def create(body: CreateBody, session: SessionDep, principal: PrincipalDep,
           jurisdiction: JurisdictionQ = None, dry_run: bool = DryRun):
    j = _ctx(session, principal, jurisdiction)
    geom = svc.geom_from_geojson(body.geometry)
    return svc.op_create(session, j, body.code, body.parent, body.name, geom,
                         dry_run=dry_run, actor=principal.name).body()


@router.put("/{code}/geometry", summary="修改网格形状 / Reshape a grid")
def reshape(code: str, body: GeometryBody, session: SessionDep, principal: PrincipalDep,
            jurisdiction: JurisdictionQ = None, dry_run: bool = DryRun):
    j = _ctx(session, principal, jurisdiction)
    return svc.op_reshape(session, j, code, svc.geom_from_geojson(body.geometry),
                          dry_run=dry_run, actor=principal.name).body()


@router.post("/{code}/split", summary="按线分割网格 / Split a grid by a line")
def split(code: str, body: SplitBody, session: SessionDep, principal: PrincipalDep,
          jurisdiction: JurisdictionQ = None, dry_run: bool = DryRun):
    j = _ctx(session, principal, jurisdiction)
    line = svc.geom_from_geojson(body.line, "line")
    return svc.op_split(session, j, code, line, body.names, dry_run=dry_run, actor=principal.name).body()


@router.post("/merge", summary="合并网格 / Merge sibling grids into the first")
def merge(body: MergeBody, session: SessionDep, principal: PrincipalDep,
          jurisdiction: JurisdictionQ = None, dry_run: bool = DryRun):
    j = _ctx(session, principal, jurisdiction)
    return svc.op_merge(session, j, body.codes, dry_run=dry_run, actor=principal.name).body()


@router.delete("/{code}", summary="删除网格 / Delete a grid")
def delete(code: str, session: SessionDep, principal: PrincipalDep,
           jurisdiction: JurisdictionQ = None, dry_run: bool = DryRun):
    j = _ctx(session, principal, jurisdiction)
    return svc.op_delete(session, j, code, dry_run=dry_run, actor=principal.name).body()


@router.post("/{code}/move-boundary", summary="调整相邻网格边界 / Move the boundary between two neighbours")
def move_boundary(code: str, body: MoveBody, session: SessionDep, principal: PrincipalDep,
                  jurisdiction: JurisdictionQ = None, dry_run: bool = DryRun):
    j = _ctx(session, principal, jurisdiction)
    return svc.op_move_boundary(session, j, code, body.neighbour, svc.geom_from_geojson(body.geometry),
                                dry_run=dry_run, actor=principal.name).body()


@router.post("/dry-run", summary="预校验修改（不保存）/ Validate a proposed change without saving")
def dry_run_any(body: DryRunBody, session: SessionDep, principal: PrincipalDep, jurisdiction: JurisdictionQ = None):
    j = _ctx(session, principal, jurisdiction)
    kw = {"dry_run": True, "actor": principal.name}
    g = svc.geom_from_geojson(body.geometry) if body.geometry else None
    need = {"create": [body.name, g], "reshape": [body.code, g], "split": [body.code, body.line],
            "merge": [body.codes], "delete": [body.code], "move_boundary": [body.code, body.neighbour, g]}
    if any(x is None for x in need[body.operation]):
        raise WanggeError("missing_field", "预校验缺少该操作所需字段", "Fields needed by this operation are missing", 422)
    ops = {
        "create": lambda: svc.op_create(session, j, body.code, body.parent, body.name, g, **kw),
        "reshape": lambda: svc.op_reshape(session, j, body.code, g, **kw),
        "split": lambda: svc.op_split(session, j, body.code, svc.geom_from_geojson(body.line, "line"), **kw),
        "merge": lambda: svc.op_merge(session, j, body.codes, **kw),
        "delete": lambda: svc.op_delete(session, j, body.code, **kw),
        "move_boundary": lambda: svc.op_move_boundary(session, j, body.code, body.neighbour, g, **kw),
    }
    return ops[body.operation]().body()


@router.get("/{code}/versions", summary="网格版本历史 / Versions of a grid")
def versions(code: str, session: SessionDep, principal: PrincipalDep, jurisdiction: JurisdictionQ = None):
    j = _ctx(session, principal, jurisdiction, write=False)
    return {"code": code, "versions": store.versions(session, int(store.grid_row(session, j, code)["id"]))}


@router.post("/{code}/restore", summary="恢复历史版本 / Restore a version (or a subtree at a time)")
def restore(code: str, body: RestoreBody, session: SessionDep, principal: PrincipalDep,
            jurisdiction: JurisdictionQ = None, dry_run: bool = DryRun):
    j = _ctx(session, principal, jurisdiction)
    if (body.version is None) == (body.at is None):
        raise WanggeError("restore_target", "请给出 version 或 at 其中之一", "Give exactly one of version or at", 422)
    if body.version is not None:
        return svc.restore_version(session, j, code, body.version, dry_run=dry_run, actor=principal.name).body()
    return svc.restore_tree(session, j, code, body.at, actor=principal.name)


@router.post("/{code}/fix-slivers", summary="消除细小缝隙与重叠 / Snap away slivers among the children")
def fix_slivers(code: str, session: SessionDep, principal: PrincipalDep,
                jurisdiction: JurisdictionQ = None, dry_run: bool = DryRun):
    j = _ctx(session, principal, jurisdiction)
    return svc.op_fix_slivers(session, j, code, dry_run=dry_run, actor=principal.name).body()


@router.post("/{code}/renumber", summary="按自西向东、自北向南重新编码 / Renumber children")
def renumber(code: str, session: SessionDep, principal: PrincipalDep, jurisdiction: JurisdictionQ = None):
    j = _ctx(session, principal, jurisdiction)
    return svc.renumber(session, j, code, actor=principal.name)


# ---- printed grid map (网格图上墙) ----------------------------------------------------------------

PrintLangQ = Query(None, alias="lang", pattern=r"^[A-Za-z]{2}([-_][A-Za-z]{2,4})?$",
                   description="图面语言 / sheet language: zh-CN (default) or en")


def _printed(m) -> Response:
    return Response(m.content, media_type=m.media_type, headers={"Content-Disposition": m.content_disposition})


@router.get("/{village_code}/print.pdf", summary="打印村/社区网格图（A3 PDF）/ Printable A3 grid map of a village (PDF)",
            response_class=Response, responses={200: {"content": {"application/pdf": {}}}})
def print_pdf(village_code: str, session: SessionDep, principal: PrincipalDep, lang: LangDep,
              jurisdiction: JurisdictionQ = None, _lang: str | None = PrintLangQ):
    return _printed(printing.print_village(session, principal, village_code, jurisdiction, fmt="pdf", lang=lang))


@router.get("/{village_code}/print.png", summary="打印村/社区网格图（A3 PNG）/ Printable A3 grid map of a village (PNG)",
            response_class=Response, responses={200: {"content": {"image/png": {}}}})
def print_png(village_code: str, session: SessionDep, principal: PrincipalDep, lang: LangDep,
              jurisdiction: JurisdictionQ = None, _lang: str | None = PrintLangQ,
              dpi: int = Query(150, ge=72, le=300, description="分辨率 / resolution (dots per inch)")):
    return _printed(printing.print_village(session, principal, village_code, jurisdiction, fmt="png",
                                           lang=lang, dpi=dpi))


@router.post("/{village_code}/propose", summary="自动划分基础网格（草案）/ Propose basic grids for a village (draft)")
def propose(village_code: str, session: SessionDep, principal: PrincipalDep, body: ProposeBody | None = None,
            jurisdiction: JurisdictionQ = None):
    j = _ctx(session, principal, jurisdiction)
    body = body or ProposeBody()
    return svc.propose_grids(session, j, village_code, cap=body.cap, target=body.target,
                             follow_roads=body.follow_roads, seed=body.seed, lane_weight=body.lane_weight,
                             actor=principal.name)


@router.post("/{village_code}/apply-proposal", summary="保存划分方案（替换基础网格）/ Save a proposal, replacing the basic grids")
def apply_proposal(village_code: str, body: ProposalBody, session: SessionDep, principal: PrincipalDep,
                   jurisdiction: JurisdictionQ = None, dry_run: bool = DryRun):
    j = _ctx(session, principal, jurisdiction)
    return svc.apply_proposal(session, j, village_code, body.model_dump(), dry_run=dry_run, actor=principal.name)
