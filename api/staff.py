"""Grid staff (三定：定格、定人、定责): people, and their roles in grids.

Names and roles are public (they hang on the grid maps); phone numbers are residents' data
and only ``PHONE_ROLES`` see them. Staff are written by planners and admins.
"""
from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy.orm import Session

from api.auth import Principal, require_role
from api.db import features as dbf
from api.db import repo
from api.db import staff as db
from api.db.models import Jurisdiction
from api.errors import Problem, WanggeError, invalid_input
from api.features import coerce
from api.layers import STAFF_FIELDS
from api.settings import ROLES, get_settings

READ_ROLES = frozenset(ROLES)
WRITE_ROLES = frozenset({"admin", "planner"})
PHONE_ROLES = frozenset({"admin", "planner", "police", "leader", "grid_worker"})
_FIELDS = {f.name: f for f in STAFF_FIELDS}


class StaffCreate(BaseModel):
    name: str = Field(min_length=1, description="姓名 / name")
    phone: str | None = Field(None, description="电话 / phone")
    title: str | None = Field(None, description="职务 / title")


class StaffUpdate(BaseModel):
    """Only the fields sent change; ``null`` clears phone or title."""

    name: str | None = Field(None, min_length=1)
    phone: str | None = None
    title: str | None = None


class AssignmentCreate(BaseModel):
    staff_id: int = Field(ge=1)
    role: str = Field(description="职责 / role: " + ", ".join(_FIELDS["role"].vocab))


class StaffAssignment(BaseModel):
    assignment_id: int
    grid_code: str
    role: str
    role_name: dict[str, str]


class StaffPublic(BaseModel):
    id: int
    name: str
    phone: str | None = Field(None, description="仅对有权限的角色显示 / shown to authorised roles only")
    phone_hidden: bool = False
    title: str | None
    assignments: list[StaffAssignment] = []


class GridStaffPublic(BaseModel):
    assignment_id: int
    staff_id: int
    name: str
    phone: str | None = None
    phone_hidden: bool = False
    title: str | None
    role: str
    role_name: dict[str, str]


class StaffPage(BaseModel):
    staff: list[StaffPublic]
    numberMatched: int
    numberReturned: int


class GridStaff(BaseModel):
    grid_code: str
    staff: list[GridStaffPublic]


def _role_name(role: str) -> dict[str, str]:
    zh, en = _FIELDS["role"].vocab[role]
    return {"zh-CN": zh, "en": en}


def _shown(p: Principal, row: dict) -> dict:
    """The row with the phone number removed for roles that may not see it."""
    if p.role in PHONE_ROLES:
        return {**row, "phone_hidden": False}
    return {**row, "phone": None, "phone_hidden": row.get("phone") is not None}


def _checked(values: dict[str, Any]) -> dict[str, Any]:
    out, problems = {}, []
    for name, v in values.items():
        if v is None or (isinstance(v, str) and not v.strip() and name != "name"):
            out[name] = None
            continue
        value, p = coerce(_FIELDS[name], v)
        if p:
            problems.append(p)
        out[name] = value
    if "name" in out and not out["name"]:
        problems.append(Problem("required", "姓名（name）：必填", "Name (name): is required", field="name"))
    if problems:
        raise invalid_input(problems)
    return out


def _staff_not_found(staff_id: int) -> WanggeError:
    return WanggeError("not_found", f"未找到工作人员：{staff_id}", f"Staff member not found: {staff_id}", 404)


def _public(p: Principal, session: Session, rows: list[dict]) -> list[dict]:
    by_staff: dict[int, list[dict]] = {}
    for a in db.assignments_of(session, [r["id"] for r in rows]):
        by_staff.setdefault(a["staff_id"], []).append(
            {"assignment_id": a["id"], "grid_code": a["grid_code"], "role": a["role"],
             "role_name": _role_name(a["role"])})
    return [{**_shown(p, r), "assignments": by_staff.get(r["id"], [])} for r in rows]


# ---- staff -------------------------------------------------------------------------------------

def list_staff(session: Session, p: Principal, code: str | None, limit: int | None, offset: int) -> dict:
    require_role(p, READ_ROLES)
    j = repo.jurisdiction_by_code(session, code)
    s = get_settings()
    rows, n = db.list_staff(session, j.id, min(limit or s.page_size_default, s.page_size_max), offset)
    return {"staff": _public(p, session, rows), "numberMatched": n, "numberReturned": len(rows)}


def get_staff(session: Session, p: Principal, staff_id: int) -> dict:
    require_role(p, READ_ROLES)
    row = db.get_staff(session, staff_id)
    if row is None:
        raise _staff_not_found(staff_id)
    return _public(p, session, [row])[0]


def create_staff(session: Session, p: Principal, code: str | None, body: StaffCreate) -> dict:
    require_role(p, WRITE_ROLES)
    j = repo.jurisdiction_by_code(session, code)
    sid = db.insert_staff(session, j.id, _checked(body.model_dump()))
    return get_staff(session, p, sid)


def update_staff(session: Session, p: Principal, staff_id: int, body: StaffUpdate) -> dict:
    require_role(p, WRITE_ROLES)
    if db.get_staff(session, staff_id, lock=True) is None:
        raise _staff_not_found(staff_id)
    sent = body.model_dump(include=body.model_fields_set)
    if "name" in sent and sent["name"] is None:
        sent["name"] = ""  # refused as required below
    db.update_staff(session, staff_id, _checked(sent))
    return get_staff(session, p, staff_id)


def delete_staff(session: Session, p: Principal, staff_id: int) -> None:
    require_role(p, WRITE_ROLES)
    if db.get_staff(session, staff_id, lock=True) is None:
        raise _staff_not_found(staff_id)
    db.delete_staff(session, staff_id)


# ---- grids' staff ------------------------------------------------------------------------------

def _grid(session: Session, grid_code: str, code: str | None) -> tuple[Jurisdiction, int]:
    """The jurisdiction and id of grid ``grid_code`` (the jurisdiction is found from the code
    when only one has such a grid)."""
    if code:
        j = repo.jurisdiction_by_code(session, code)
    else:
        jids = dbf.jurisdictions_with_grid(session, grid_code)
        if len(jids) > 1:
            raise WanggeError("jurisdiction_required", "多个辖区有此网格编码，请指定辖区编码（jurisdiction）",
                              "Several jurisdictions have this grid code: give the jurisdiction code", 400)
        j = session.get(Jurisdiction, jids[0]) if jids else None
    gid = dbf.grid_id_by_code(session, j.id, grid_code) if j is not None else None
    if gid is None:
        raise WanggeError("unknown_grid", f"未找到网格：{grid_code}", f"Grid not found: {grid_code}", 404)
    return j, gid


def grid_staff(session: Session, p: Principal, grid_code: str, code: str | None) -> dict:
    require_role(p, READ_ROLES)
    _, gid = _grid(session, grid_code, code)
    rows = [{**_shown(p, r), "assignment_id": r["id"], "role_name": _role_name(r["role"])}
            for r in db.grid_staff(session, gid)]
    return {"grid_code": grid_code, "staff": rows}


def assign(session: Session, p: Principal, grid_code: str, code: str | None, body: AssignmentCreate) -> dict:
    require_role(p, WRITE_ROLES)
    j, gid = _grid(session, grid_code, code)
    role, problem = coerce(_FIELDS["role"], body.role)
    staff = db.get_staff(session, body.staff_id)
    problems = [problem] if problem else []
    if staff is None or staff["jurisdiction_id"] != j.id:
        problems.append(Problem("unknown_staff", f"本辖区没有工作人员 {body.staff_id}",
                                f"No staff member {body.staff_id} in this jurisdiction", field="staff_id",
                                value=body.staff_id))
    if problems:
        raise invalid_input(problems)
    if db.assignment_exists(session, gid, body.staff_id, role):
        raise WanggeError("duplicate_assignment", f"{staff['name']} 已是该网格的{_role_name(role)['zh-CN']}",
                          f"{staff['name']} already has the role {role} in this grid", 409)
    aid = db.insert_assignment(session, gid, body.staff_id, role)
    return next(r for r in grid_staff(session, p, grid_code, j.code)["staff"] if r["assignment_id"] == aid)


def unassign(session: Session, p: Principal, grid_code: str, code: str | None, assignment_id: int) -> None:
    require_role(p, WRITE_ROLES)
    _, gid = _grid(session, grid_code, code)
    if not db.delete_assignment(session, gid, assignment_id):
        raise WanggeError("not_found", f"该网格没有分工记录 {assignment_id}",
                          f"No assignment {assignment_id} in this grid", 404)
