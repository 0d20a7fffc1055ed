"""Grid staff (三定: 定格、定人、定责) from a CSV of grid_code, name, phone, role, title.

A person is identified by name + phone within the jurisdiction: one ``staff`` row per person
(reused if already stored), one ``grid_assignment`` row per CSV row.
"""
from __future__ import annotations

import time
from pathlib import Path

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import Grid, GridAssignment, Jurisdiction, Staff
from api.errors import WanggeError
from api.io import lookups
from api.io.mapping import map_columns
from api.io.problems import ProblemLog
from api.io.readers import read_source
from api.io.validate import typed_frame
from api.layers import ALL, PLANNING, STAFF_FIELDS, LayerSpec

STAFF = LayerSpec("staff", Staff, "None", "网格人员", "Grid staff", fields=STAFF_FIELDS,
                  read_roles=ALL, write_roles=PLANNING)
COLUMNS = [f.name for f in STAFF_FIELDS]


def _person_keys(frame: pd.DataFrame) -> pd.Series:
    return frame["name"].fillna("") + "\x1f" + frame["phone"].fillna("")


def _check(frame: pd.DataFrame, grid_ids: dict[str, int], stored: set[tuple], persons: dict, log: ProblemLog):
    codes = frame["grid_code"]
    unknown = codes.notna() & ~codes.isin(grid_ids.keys())
    log.add(unknown.to_numpy(), "unknown_grid", "网格编码不存在：{value}", "No grid with code {value}",
            field="grid_code", values=codes.to_numpy(dtype=object))
    keys = _person_keys(frame)
    dup = pd.DataFrame({"g": codes, "k": keys, "r": frame["role"]}).duplicated(keep=False).to_numpy()
    log.add(dup, "duplicate_assignment", "同一人员在同一网格的同一职责重复出现",
            "The same person, grid and role occur more than once", field="name")
    have = [(grid_ids.get(g), persons.get(k), r) in stored for g, k, r in zip(codes, keys, frame["role"])]
    log.add(pd.Series(have, dtype=bool).to_numpy(), "assignment_exists", "该人员在该网格的此职责已存在：{value}",
            "This person already has this role in this grid: {value}", field="name",
            values=frame["name"].to_numpy(dtype=object))


def _stored(session: Session, j: Jurisdiction) -> tuple[dict, set[tuple]]:
    people = {f"{n or ''}\x1f{p or ''}": i for i, n, p in session.execute(
        select(Staff.id, Staff.name, Staff.phone).where(Staff.jurisdiction_id == j.id))}
    links = set(session.execute(select(GridAssignment.grid_id, GridAssignment.staff_id, GridAssignment.role)
                                .join(Grid, Grid.id == GridAssignment.grid_id).where(Grid.jurisdiction_id == j.id)).all())
    return people, links


def _write(session: Session, j: Jurisdiction, frame: pd.DataFrame, grid_ids: dict, persons: dict) -> int:
    keys = _person_keys(frame)
    first = frame.assign(person=keys).drop_duplicates("person")
    first = first[~first["person"].isin(persons.keys())]
    new = [Staff(jurisdiction_id=j.id, name=n, phone=p, title=t)  # one object per new person (few)
           for n, p, t in zip(first["name"], first["phone"], first["title"])]
    session.add_all(new)
    session.flush()
    persons = {**persons, **{f"{s.name}\x1f{s.phone or ''}": s.id for s in new}}
    session.add_all([GridAssignment(grid_id=grid_ids[g], staff_id=persons[k], role=r)
                     for g, k, r in zip(frame["grid_code"], keys, frame["role"])])
    session.flush()
    return len(frame)


def import_staff(session: Session, j: Jurisdiction, path: Path, opts, progress):
    """Import a staff CSV; all rows or none."""
    from api.io.importer import ImportResult, info_messages
    t0 = time.perf_counter()
    src = read_source(path, encoding=opts.encoding, need_geometry=False)
    if src.fmt != "csv":
        raise WanggeError("unsupported_format", "网格人员请用 CSV 导入（grid_code,name,phone,role,title）",
                          "Import staff from a CSV (grid_code,name,phone,role,title)", 415)
    cols = map_columns(STAFF_FIELDS, [str(c) for c in src.attrs.columns], opts.mapping)
    log = ProblemLog()
    frame = typed_frame(STAFF_FIELDS, src, cols, log)
    grid_ids = lookups.grid_ids_by_code(session, j.id)
    persons, links = _stored(session, j)
    _check(frame, grid_ids, links, persons, log)
    log.raise_if_any()
    progress.stage("write", len(frame))
    written = _write(session, j, frame, grid_ids, persons)
    return ImportResult("staff", j.code, written, cols.used, cols.ignored, "csv", src.encoding, None,
                        opts.coords, round(time.perf_counter() - t0, 3), messages=info_messages(cols))


def staff_frame(session: Session, j: Jurisdiction, grid_code: str | None = None) -> pd.DataFrame:
    """One row per assignment: grid_code, name, phone, role, title (for export)."""
    q = (select(Grid.code, Staff.name, Staff.phone, GridAssignment.role, Staff.title)
         .join(GridAssignment, GridAssignment.grid_id == Grid.id).join(Staff, Staff.id == GridAssignment.staff_id)
         .where(Grid.jurisdiction_id == j.id).order_by(Grid.code, GridAssignment.id))
    if grid_code:
        q = q.where(Grid.code.startswith(grid_code))
    return pd.DataFrame(session.execute(q).all(), columns=COLUMNS)
