"""Grid staff and their roles in grids (定人、定责). Routes call :mod:`api.staff`."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy.orm import Session

from api import staff
from api.deps import JurisdictionQ, PrincipalDep, SessionDep, session_dep
from api.staff import AssignmentCreate, GridStaff, GridStaffPublic, StaffCreate, StaffPage, StaffPublic, StaffUpdate

router = APIRouter(tags=["staff"])

WriteSessionDep = Annotated[Session, Depends(session_dep, scope="function")]
StaffIdP = Annotated[int, Path(ge=1, description="工作人员 id / staff id")]
GridCodeP = Annotated[str, Path(pattern=r"^[0-9]+$", description="网格编码 / grid code")]


@router.get("/staff", response_model=StaffPage, summary="工作人员列表 / Staff of a jurisdiction")
def list_staff(session: SessionDep, principal: PrincipalDep, jurisdiction: JurisdictionQ = None,
               limit: Annotated[int | None, Query(ge=1)] = None, offset: Annotated[int, Query(ge=0)] = 0):
    return staff.list_staff(session, principal, jurisdiction, limit, offset)


@router.post("/staff", response_model=StaffPublic, status_code=201, summary="新增工作人员 / Add a staff member")
def create_staff(body: StaffCreate, session: WriteSessionDep, principal: PrincipalDep,
                 jurisdiction: JurisdictionQ = None):
    return staff.create_staff(session, principal, jurisdiction, body)


@router.get("/staff/{staff_id}", response_model=StaffPublic, summary="工作人员 / One staff member")
def get_staff(staff_id: StaffIdP, session: SessionDep, principal: PrincipalDep):
    return staff.get_staff(session, principal, staff_id)


@router.patch("/staff/{staff_id}", response_model=StaffPublic, summary="修改工作人员 / Update a staff member")
def update_staff(staff_id: StaffIdP, body: StaffUpdate, session: WriteSessionDep, principal: PrincipalDep):
    return staff.update_staff(session, principal, staff_id, body)


@router.delete("/staff/{staff_id}", status_code=204, summary="删除工作人员 / Remove a staff member")
def delete_staff(staff_id: StaffIdP, session: WriteSessionDep, principal: PrincipalDep) -> Response:
    staff.delete_staff(session, principal, staff_id)
    return Response(status_code=204)


@router.get("/grids/{code}/staff", response_model=GridStaff, summary="网格的工作人员 / Staff of a grid")
def grid_staff(code: GridCodeP, session: SessionDep, principal: PrincipalDep,
               jurisdiction: JurisdictionQ = None):
    return staff.grid_staff(session, principal, code, jurisdiction)


@router.post("/grids/{code}/staff", response_model=GridStaffPublic, status_code=201,
             summary="给网格分配工作人员 / Assign a staff member to a grid")
def assign(code: GridCodeP, body: AssignmentCreate, session: WriteSessionDep, principal: PrincipalDep,
           jurisdiction: JurisdictionQ = None):
    return staff.assign(session, principal, code, jurisdiction, body)


@router.delete("/grids/{code}/staff/{assignment_id}", status_code=204,
               summary="取消分工 / Remove an assignment")
def unassign(code: GridCodeP, assignment_id: Annotated[int, Path(ge=1)], session: WriteSessionDep,
             principal: PrincipalDep, jurisdiction: JurisdictionQ = None) -> Response:
    staff.unassign(session, principal, code, jurisdiction, assignment_id)
    return Response(status_code=204)
