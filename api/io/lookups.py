"""What the database already holds that an import must agree with (SQLAlchemy expressions)."""
from __future__ import annotations

import shapely
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import Camera, Grid, Jurisdiction
from api.layers import LayerSpec


def existing_codes(session: Session, spec: LayerSpec, jurisdiction_id: int) -> set[str]:
    """Codes of ``spec`` already stored where they must be unique.

    Camera IDs are unique in the whole database (GB/T 28181); other codes per jurisdiction.
    """
    col = getattr(spec.model, spec.code_field)
    q = select(col).where(col.is_not(None))
    if spec.model is not Camera:
        q = q.where(spec.model.jurisdiction_id == jurisdiction_id)
    return set(session.scalars(q))


def grid_ids_by_code(session: Session, jurisdiction_id: int) -> dict[str, int]:
    rows = session.execute(select(Grid.code, Grid.id).where(Grid.jurisdiction_id == jurisdiction_id))
    return {code: gid for code, gid in rows}


def has_grids(session: Session, jurisdiction_id: int) -> bool:
    return session.scalar(select(Grid.id).where(Grid.jurisdiction_id == jurisdiction_id).limit(1)) is not None


def boundary_of(j: Jurisdiction):
    """The jurisdiction boundary as a shapely geometry (EPSG:4326)."""
    data = j.geom.data if hasattr(j.geom, "data") else j.geom
    return shapely.from_wkb(bytes(data)) if not isinstance(data, str) else shapely.from_wkt(data.split(";")[-1])
