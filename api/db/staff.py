"""Repository SQL for grid staff and their assignments (bound parameters only)."""
from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from api.db.models import Grid, GridAssignment, Staff

_COLS = (Staff.id, Staff.jurisdiction_id, Staff.name, Staff.phone, Staff.title)


def list_staff(session: Session, jurisdiction_id: int, limit: int, offset: int) -> tuple[list[dict], int]:
    """A page of the jurisdiction's staff ordered by id, and how many there are."""
    q = select(*_COLS).where(Staff.jurisdiction_id == jurisdiction_id)
    rows = session.execute(q.order_by(Staff.id).limit(limit).offset(offset)).mappings().all()
    n = session.scalar(select(func.count()).select_from(Staff).where(Staff.jurisdiction_id == jurisdiction_id))
    return [dict(r) for r in rows], n


def get_staff(session: Session, staff_id: int, lock: bool = False) -> dict | None:
    q = select(*_COLS).where(Staff.id == staff_id)
    row = session.execute(q.with_for_update() if lock else q).mappings().first()
    return dict(row) if row else None


def assignments_of(session: Session, staff_ids: list[int]) -> list[dict]:
    """Assignments (id, staff_id, role, grid_code) of these staff, by grid code."""
    q = (select(GridAssignment.id, GridAssignment.staff_id, GridAssignment.role, Grid.code.label("grid_code"))
         .join(Grid, Grid.id == GridAssignment.grid_id)
         .where(GridAssignment.staff_id.in_(staff_ids)).order_by(Grid.code, GridAssignment.id))
    return [dict(r) for r in session.execute(q).mappings()]


def insert_staff(session: Session, jurisdiction_id: int, values: dict[str, Any]) -> int:
    q = insert(Staff).values(jurisdiction_id=jurisdiction_id, **values).returning(Staff.id)
    return session.execute(q).scalar_one()


def update_staff(session: Session, staff_id: int, values: dict[str, Any]) -> None:
    if values:
        session.execute(update(Staff).where(Staff.id == staff_id).values(**values))


def delete_staff(session: Session, staff_id: int) -> None:
    session.execute(delete(Staff).where(Staff.id == staff_id))  # assignments go too (CASCADE)


def grid_staff(session: Session, grid_id: int) -> list[dict]:
    """The people assigned to a grid with their roles."""
    q = (select(GridAssignment.id, GridAssignment.role, Staff.id.label("staff_id"), Staff.name,
                Staff.phone, Staff.title)
         .join(Staff, Staff.id == GridAssignment.staff_id)
         .where(GridAssignment.grid_id == grid_id).order_by(GridAssignment.role, Staff.name, GridAssignment.id))
    return [dict(r) for r in session.execute(q).mappings()]


def assignment_exists(session: Session, grid_id: int, staff_id: int, role: str) -> bool:
    q = select(GridAssignment.id).where(GridAssignment.grid_id == grid_id, GridAssignment.staff_id == staff_id,
                                        GridAssignment.role == role)
    return session.scalar(q) is not None


def insert_assignment(session: Session, grid_id: int, staff_id: int, role: str) -> int:
    q = insert(GridAssignment).values(grid_id=grid_id, staff_id=staff_id, role=role).returning(GridAssignment.id)
    return session.execute(q).scalar_one()


def delete_assignment(session: Session, grid_id: int, assignment_id: int) -> bool:
    q = delete(GridAssignment).where(GridAssignment.id == assignment_id, GridAssignment.grid_id == grid_id)
    return session.execute(q).rowcount > 0
