"""Storage models. Geometry is stored in EPSG:4326; metres are computed in the metric CRS
of the jurisdiction (``Jurisdiction.metric_epsg``).

"人进户、户进房、房进格、格进图": buildings hold households, buildings belong to basic grids
(derived, never typed by hand), grids nest in their parents and in the map.
"""
from __future__ import annotations

from datetime import datetime

from geoalchemy2 import Geometry
from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Computed, DateTime, Float,
                        ForeignKey, Index, Integer, MetaData, SmallInteger, String, Text,
                        UniqueConstraint, func, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from gis.vocab import (CAMERA_KINDS, INCIDENT_SOURCES, INCIDENT_STATUSES, INCIDENT_TYPES,
                       KEY_SITE_CATEGORIES, ROAD_CLASSES, SERVICE_CENTRE_LEVELS, STAFF_ROLES)

SRID = 4326

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _in(col: str, values) -> str:
    return f"{col} IN (" + ", ".join(f"'{v}'" for v in values) + ")"


def _geom(kind: str, nullable: bool = False):
    return mapped_column(Geometry(kind, srid=SRID, spatial_index=True), nullable=nullable)


def _valid(col: str = "geom") -> CheckConstraint:
    return CheckConstraint(f"ST_IsValid({col}) AND NOT ST_IsEmpty({col})", name=f"{col}_valid")


def _jur_fk():
    return mapped_column(ForeignKey("jurisdiction.id", ondelete="CASCADE"), index=True)


class Jurisdiction(Base):
    """A town, district or city whose grids, buildings and cameras live together."""

    __tablename__ = "jurisdiction"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(15), unique=True)
    name: Mapped[str] = mapped_column(Text)
    name_en: Mapped[str | None] = mapped_column(Text)
    geom = _geom("MULTIPOLYGON")
    metric_epsg: Mapped[int] = mapped_column(Integer)
    levels: Mapped[list] = mapped_column(JSONB)  # snapshot of the grid level configuration
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    __table_args__ = (
        CheckConstraint("code ~ '^[0-9]{6}([0-9]{3}){0,3}$'", name="code_format"),
        CheckConstraint("metric_epsg BETWEEN 1024 AND 999999", name="metric_epsg_range"),
        _valid(),
    )


class Grid(Base):
    """A grid cell at any level; the top level tiles the jurisdiction boundary."""

    __tablename__ = "grid"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = _jur_fk()
    level: Mapped[int] = mapped_column(SmallInteger)  # 0 = top level of the profile
    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id"), index=True)
    geom = _geom("MULTIPOLYGON")
    version: Mapped[int] = mapped_column(Integer, server_default=text("1"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_by: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        UniqueConstraint("jurisdiction_id", "code", name="uq_grid_jurisdiction_code"),
        CheckConstraint("code ~ '^[0-9]+$'", name="code_digits"),
        CheckConstraint("level >= 0 AND level < 8", name="level_range"),
        CheckConstraint("(level = 0) = (parent_id IS NULL)", name="parent_iff_not_top"),
        _valid(),
    )


class Building(Base):
    """A building footprint with its households; ``grid_id`` is derived from the grids."""

    __tablename__ = "building"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    jurisdiction_id: Mapped[int] = _jur_fk()
    code: Mapped[str | None] = mapped_column(Text)
    name: Mapped[str | None] = mapped_column(Text)
    address: Mapped[str | None] = mapped_column(Text)
    households: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    residential: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    floors: Mapped[int | None] = mapped_column(SmallInteger)
    geom = _geom("POLYGON")
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id", ondelete="SET NULL"), index=True)
    __table_args__ = (
        UniqueConstraint("jurisdiction_id", "code", name="uq_building_jurisdiction_code"),
        CheckConstraint("households >= 0", name="households_nonneg"),
        CheckConstraint("floors IS NULL OR floors BETWEEN 1 AND 200", name="floors_range"),
        _valid(),
    )


class Staff(Base):
    """A person responsible for grids (names and phones are posted on grid maps)."""

    __tablename__ = "staff"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = _jur_fk()
    name: Mapped[str] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    title: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("phone IS NULL OR phone ~ '^[0-9+() -]{3,32}$'", name="phone_format"),
    )


class GridAssignment(Base):
    """Staff member X has role R in grid G (定人、定责)."""

    __tablename__ = "grid_assignment"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    grid_id: Mapped[int] = mapped_column(ForeignKey("grid.id", ondelete="CASCADE"), index=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(20))
    __table_args__ = (
        UniqueConstraint("grid_id", "staff_id", "role", name="uq_assignment"),
        CheckConstraint(_in("role", STAFF_ROLES), name="role_known"),
    )


class Camera(Base):
    """A camera: GB/T 28181 ID decoded by the database, position, view parameters, status."""

    __tablename__ = "camera"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = _jur_fk()
    gb_id: Mapped[str] = mapped_column(String(20), unique=True)
    centre_code: Mapped[str] = mapped_column(String(8), Computed("substr(gb_id, 1, 8)", persisted=True))
    admin_code: Mapped[str] = mapped_column(String(6), Computed("substr(gb_id, 1, 6)", persisted=True))
    industry_code: Mapped[str] = mapped_column(String(2), Computed("substr(gb_id, 9, 2)", persisted=True))
    type_code: Mapped[str] = mapped_column(String(3), Computed("substr(gb_id, 11, 3)", persisted=True))
    network_code: Mapped[str] = mapped_column(String(1), Computed("substr(gb_id, 14, 1)", persisted=True))
    name: Mapped[str | None] = mapped_column(Text)
    geom = _geom("POINT")
    height_m: Mapped[float] = mapped_column(Float, server_default=text("4"))
    azimuth_deg: Mapped[float] = mapped_column(Float, server_default=text("0"))
    hfov_deg: Mapped[float] = mapped_column(Float, server_default=text("60"))
    range_m: Mapped[float] = mapped_column(Float, server_default=text("50"))
    kind: Mapped[str] = mapped_column(String(8), server_default=text("'fixed'"))
    networked: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    online: Mapped[bool] = mapped_column(Boolean, server_default=text("true"))
    documented: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))
    owner: Mapped[str | None] = mapped_column(Text)
    __table_args__ = (
        CheckConstraint("gb_id ~ '^[0-9]{20}$'", name="gb_id_format"),
        CheckConstraint("substr(gb_id, 11, 3) IN ('131', '132')", name="gb_type_camera"),
        CheckConstraint("azimuth_deg >= 0 AND azimuth_deg < 360", name="azimuth_range"),
        CheckConstraint("hfov_deg > 0 AND hfov_deg <= 360", name="hfov_range"),
        CheckConstraint("range_m > 0 AND range_m <= 2000", name="range_range"),
        CheckConstraint("height_m >= 0 AND height_m <= 300", name="height_range"),
        CheckConstraint(_in("kind", CAMERA_KINDS), name="kind_known"),
        Index("ix_camera_jurisdiction_gb", "jurisdiction_id", "gb_id"),
    )


class KeySite(Base):
    """A place that must be covered by cameras (DOMAIN.md list)."""

    __tablename__ = "key_site"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = _jur_fk()
    category: Mapped[str] = mapped_column(String(24))
    name: Mapped[str] = mapped_column(Text)
    geom = _geom("MULTIPOLYGON")
    entrances = _geom("MULTIPOINT", nullable=True)
    __table_args__ = (
        CheckConstraint(_in("category", KEY_SITE_CATEGORIES), name="category_known"),
        _valid(),
    )


class Road(Base):
    """A road centre line with its class and width."""

    __tablename__ = "road"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = _jur_fk()
    name: Mapped[str | None] = mapped_column(Text)
    road_class: Mapped[str] = mapped_column(String(16))
    width_m: Mapped[float] = mapped_column(Float, server_default=text("6"))
    geom = _geom("LINESTRING")
    __table_args__ = (
        CheckConstraint(_in("road_class", ROAD_CLASSES), name="class_known"),
        CheckConstraint("width_m > 0 AND width_m <= 120", name="width_range"),
        _valid(),
    )


class ServiceCentre(Base):
    """A district / town / village service centre."""

    __tablename__ = "service_centre"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    jurisdiction_id: Mapped[int] = _jur_fk()
    name: Mapped[str] = mapped_column(Text)
    level: Mapped[str] = mapped_column(String(10))
    address: Mapped[str | None] = mapped_column(Text)
    phone: Mapped[str | None] = mapped_column(String(32))
    geom = _geom("POINT")
    __table_args__ = (CheckConstraint(_in("level", SERVICE_CENTRE_LEVELS), name="level_known"),)


class Incident(Base):
    """An incident with its closed-loop status timestamps; ``grid_id`` derived from place."""

    __tablename__ = "incident"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    jurisdiction_id: Mapped[int] = _jur_fk()
    type: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(16), server_default=text("'grid_worker'"))
    status: Mapped[str] = mapped_column(String(10), server_default=text("'reported'"))
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    handled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    evaluated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    description: Mapped[str | None] = mapped_column(Text)
    geom = _geom("POINT")
    grid_id: Mapped[int | None] = mapped_column(ForeignKey("grid.id", ondelete="SET NULL"), index=True)
    __table_args__ = (
        CheckConstraint(_in("type", INCIDENT_TYPES), name="type_known"),
        CheckConstraint(_in("source", INCIDENT_SOURCES), name="source_known"),
        CheckConstraint(_in("status", INCIDENT_STATUSES), name="status_known"),
        CheckConstraint(
            "(status = 'reported' OR accepted_at IS NOT NULL) AND "
            "(status NOT IN ('handled','resolved','evaluated') OR handled_at IS NOT NULL) AND "
            "(status NOT IN ('resolved','evaluated') OR resolved_at IS NOT NULL) AND "
            "(status <> 'evaluated' OR evaluated_at IS NOT NULL)", name="status_steps"),
        CheckConstraint(
            "reported_at >= occurred_at - interval '1 minute' AND "
            "(accepted_at IS NULL OR accepted_at >= reported_at) AND "
            "(handled_at IS NULL OR handled_at >= accepted_at) AND "
            "(resolved_at IS NULL OR resolved_at >= handled_at) AND "
            "(evaluated_at IS NULL OR evaluated_at >= resolved_at)", name="steps_in_order"),
    )


class ChangeLog(Base):
    """Who changed what and when, with the row before and after (written by triggers)."""

    __tablename__ = "change_log"
    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    table_name: Mapped[str] = mapped_column(String(32))
    row_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(8))
    actor: Mapped[str | None] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    txid: Mapped[int] = mapped_column(BigInteger, server_default=text("txid_current()"))
    before: Mapped[dict | None] = mapped_column(JSONB)
    after: Mapped[dict | None] = mapped_column(JSONB)
    __table_args__ = (Index("ix_change_log_row", "table_name", "row_id", "id"),)


AUDITED_TABLES = ("grid", "camera", "grid_assignment", "staff")
LAYERS = {
    "grids": Grid, "buildings": Building, "cameras": Camera, "key_sites": KeySite,
    "roads": Road, "service_centres": ServiceCentre, "incidents": Incident,
}
