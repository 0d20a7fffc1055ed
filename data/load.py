"""Loading a generated demo town into PostGIS, in one transaction.

The town goes in through the same doors as real data: ``repo.create_jurisdiction``, the COPY
loader (``bulk.copy_grids`` / ``bulk.copy_layer``), then staff and assignments, then
``repo.assign_to_basic_grids`` derives which basic grid each building and incident is in.

Example
-------
>>> from data.demo import generate_town                    # doctest: +SKIP
>>> with transaction(actor="demo") as s:                    # doctest: +SKIP
...     summary = load_town(s, generate_town())
"""
from __future__ import annotations

import time
from collections.abc import Callable

import pandas as pd
import shapely
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from api.db import bulk, repo
from api.db.models import Grid, GridAssignment, Jurisdiction, KeySite, Staff
from api.errors import WanggeError
from api.layers import LAYERS
from api.settings import DEFAULT_LEVELS, Settings, get_settings
from data.demo import DEFECT_TOWN_CODE, TOWN_CODE, DemoTown

LAYER_ORDER = ("buildings", "roads", "key_sites", "service_centres", "cameras", "incidents")
LOAD_STAGES = 4 + len(LAYER_ORDER)   # progress calls made by load_town
Progress = Callable[[str], None]


def demo_settings(settings: Settings | None = None) -> Settings:
    """The settings with the demo's grid profile (town / village / basic, 6+3+3+3, cap 200),
    whatever profile the installation uses for its own jurisdictions."""
    settings = settings or get_settings()
    return settings.model_copy(update={"grid_levels": [lv.model_copy() for lv in DEFAULT_LEVELS]})


def find(session: Session, code: str) -> Jurisdiction | None:
    return session.scalar(select(Jurisdiction).where(Jurisdiction.code == code))


def delete_town(session: Session, code: str) -> bool:
    """Remove a jurisdiction and everything in it (cascades); True if it existed."""
    res = session.execute(delete(Jurisdiction).where(Jurisdiction.code == code))
    return res.rowcount > 0


def load_town(session: Session, town: DemoTown, progress: Progress | None = None) -> dict:
    """Insert every layer, staff and assignments of ``town``; returns a summary with the
    counts read back from the database."""
    step = progress or (lambda s: None)
    t0 = time.perf_counter()
    step("辖区 jurisdiction")
    j = repo.create_jurisdiction(session, town.code, town.name, town.boundary, name_en=town.name_en,
                                 settings=demo_settings(), metric_epsg=town.metric_epsg)
    step("网格 grids")
    grids = town.layers["grids"]
    bulk.copy_grids(session, LAYERS["grids"], grids, j.id, levels=grids["level"].to_numpy(),
                    parent_codes=grids["parent_code"].to_numpy(dtype=object))
    for key in LAYER_ORDER:
        step(f"{LAYERS[key].zh} {key}")
        bulk.copy_layer(session, LAYERS[key], _utc_naive(town.layers[key]), j.id)
    set_entrances(session, j.id, town.layers["key_site_entrances"])
    step("人员 staff")
    insert_staff(session, j.id, town.staff, town.assignments)
    step("落格 assign to grids")
    assigned = {t: repo.assign_to_basic_grids(session, j.id, t) for t in ("building", "incident")}
    summary = repo.jurisdiction_summary(session, j)
    summary["assigned"] = assigned
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    summary["defects"] = town.defects
    return summary


def _utc_naive(gdf):
    """Timestamps as naive UTC datetime64 (the loader reads them as UTC): converting
    tz-aware columns element by element is much slower."""
    cols = [c for c in gdf.columns if isinstance(gdf[c].dtype, pd.DatetimeTZDtype)]
    if not cols:
        return gdf
    out = gdf.copy()
    for c in cols:
        out[c] = out[c].dt.tz_convert("UTC").dt.tz_localize(None)
    return out


def set_entrances(session: Session, jurisdiction_id: int, entrances) -> int:
    """Gates of key sites (a MultiPoint per site, matched by the site's name)."""
    if len(entrances) == 0:
        return 0
    t = KeySite.__table__
    stmt = (update(t).where(t.c.jurisdiction_id == jurisdiction_id, t.c.name == bindparam("site"))
            .values(entrances=bindparam("ent")))
    rows = [{"site": name, "ent": f"SRID=4326;{shapely.to_wkt(shapely.MultiPoint(list(grp.geometry)))}"}
            for name, grp in entrances.groupby("site_name", sort=True)]
    session.execute(stmt, rows)
    return len(rows)


def insert_staff(session: Session, jurisdiction_id: int, staff: pd.DataFrame,
                 assignments: pd.DataFrame) -> int:
    """Staff (in order, ids returned) and their grid assignments."""
    rows = [{"jurisdiction_id": jurisdiction_id, "name": r.name, "phone": r.phone, "title": r.title}
            for r in staff.itertuples(index=False)]
    ids = session.execute(insert(Staff).returning(Staff.id, sort_by_parameter_order=True), rows).scalars().all()
    staff_id = dict(zip(staff["key"], ids))
    grid_id = dict(session.execute(select(Grid.code, Grid.id).where(Grid.jurisdiction_id == jurisdiction_id)).all())
    links = [{"grid_id": grid_id[a.grid_code], "staff_id": staff_id[a.staff_key], "role": a.role}
             for a in assignments.itertuples(index=False)]
    session.execute(insert(GridAssignment), links)
    return len(links)


def load_demo(seed: int | None = None, defects: bool = False, if_missing: bool = False,
              replace: bool = False, progress: Progress | None = None) -> dict | None:
    """Generate and load the demo town (or its defects variant) in one transaction.

    Returns the summary, or None when ``if_missing`` and the town is already there.
    Without ``if_missing`` or ``replace`` an existing town is an error (409).
    """
    from api.db.session import transaction
    from data.demo import DEFAULT_SEED, generate_town
    code = DEFECT_TOWN_CODE if defects else TOWN_CODE
    with transaction() as s:
        exists = find(s, code) is not None
    if exists and not replace:
        if if_missing:
            return None
        raise WanggeError("demo_exists", f"演示辖区 {code} 已存在：用 --replace 重新加载，或 --if-missing 跳过",
                          f"The demo jurisdiction {code} exists: use --replace to reload it "
                          "or --if-missing to skip", 409)
    town = generate_town(seed=DEFAULT_SEED if seed is None else seed, defects=defects, progress=progress)
    with transaction(actor="demo") as s:   # generated outside: no transaction held meanwhile
        if replace:
            delete_town(s, code)
        return load_town(s, town, progress)
