"""Export of a layer (read through :func:`api.db.read.read_layer`) to GeoJSON, GeoPackage,
zipped Shapefile, KML or CSV.

Times are written as ISO 8601 text with their offset (local time, +08:00) except in
GeoPackage, which has a datetime type. Shapefile: UTF-8 ``.cpg``, ``.prj``, field names
within 10 bytes (:attr:`FieldSpec.shp_name`). CSV: UTF-8 with BOM (Excel opens it right),
lon/lat columns for points, WKT for other geometries.
"""
from __future__ import annotations

import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from sqlalchemy.orm import Session

from api.db import read, repo
from api.errors import WanggeError
from api.io import staff
from api.io.values import LOCAL_TZ
from api.layers import LayerSpec


@dataclass(frozen=True)
class Format:
    key: str
    suffix: str
    media_type: str
    driver: str | None


FORMATS = {f.key: f for f in (
    Format("geojson", ".geojson", "application/geo+json", "GeoJSON"),
    Format("gpkg", ".gpkg", "application/geopackage+sqlite3", "GPKG"),
    Format("shp", ".zip", "application/zip", "ESRI Shapefile"),
    Format("kml", ".kml", "application/vnd.google-earth.kml+xml", "KML"),
    Format("csv", ".csv", "text/csv; charset=utf-8", None),
)}
_BY_SUFFIX = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".zip": "shp", ".shp": "shp",
              ".kml": "kml", ".csv": "csv"}
NAME_FIELDS = ("name", "code", "gb_id")  # KML <name>: the first present, else a label


@dataclass
class ExportResult:
    path: Path
    rows: int
    format: Format


def choose_format(fmt: str | None, path: str | Path | None = None) -> Format:
    """``fmt`` if given, else from the file extension (.zip → Shapefile)."""
    key = (fmt or _BY_SUFFIX.get(Path(path or "").suffix.lower(), "")).lower()
    if key not in FORMATS:
        raise WanggeError("unsupported_format", f"不支持的导出格式：{fmt or path}（可用：{'、'.join(FORMATS)}）",
                          f"Unsupported export format: {fmt or path} (known: {', '.join(FORMATS)})", 422)
    return FORMATS[key]


def parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        parts = tuple(float(x) for x in text.split(","))
    except ValueError:
        parts = ()
    if len(parts) != 4:
        raise WanggeError("invalid_bbox", "bbox 应为 minx,miny,maxx,maxy（经纬度）",
                          "bbox must be minx,miny,maxx,maxy (lon/lat)", 422)
    return parts  # type: ignore[return-value]


def layer_frame(session: Session, spec: LayerSpec, jurisdiction: str | None,
                bbox=None, grid: str | None = None) -> gpd.GeoDataFrame | pd.DataFrame:
    """The rows to export (staff: a plain table of assignments)."""
    j = repo.jurisdiction_by_code(session, jurisdiction)
    if spec.key == "staff":
        return staff.staff_frame(session, j, grid)
    return read.read_layer(session, spec, j, read.Filter(bbox=bbox, grid_code=grid))


def _times_as_text(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if isinstance(out[c].dtype, pd.DatetimeTZDtype):
            local = out[c].dt.tz_convert(LOCAL_TZ)
            out[c] = local.dt.strftime("%Y-%m-%dT%H:%M:%S%z").str.replace(r"(\d{2})(\d{2})$", r"\1:\2", regex=True)
        elif c != "geometry" and out[c].dtype == object and out[c].map(lambda v: hasattr(v, "tzinfo")).any():
            out[c] = pd.to_datetime(out[c], utc=True).dt.tz_convert(LOCAL_TZ).dt.strftime("%Y-%m-%dT%H:%M:%S%z") \
                .str.replace(r"(\d{2})(\d{2})$", r"\1:\2", regex=True)
    return out


def _with_times(df: pd.DataFrame) -> pd.DataFrame:
    out = df.copy()
    for c in out.columns:
        if c != "geometry" and out[c].dtype == object and out[c].map(lambda v: hasattr(v, "tzinfo")).any():
            out[c] = pd.to_datetime(out[c], utc=True)
    return out


def write_frame(df, spec: LayerSpec, fmt: Format, dest: Path) -> Path:
    """Write ``df`` to ``dest`` in ``fmt``; returns the file written."""
    if spec.key == "staff" or fmt.key == "csv":
        return write_csv(df, dest)
    if fmt.key == "shp":
        return write_shapefile_zip(_times_as_text(df), spec, dest)
    gdf = _with_times(df) if fmt.key == "gpkg" else _times_as_text(df)
    options = None
    if fmt.key == "kml":
        gdf, options = kml_names(gdf, spec)
    pyogrio.write_dataframe(gdf, dest, layer=spec.key, driver=fmt.driver, geometry_type=spec.geometry_type,
                            dataset_options=options)
    return dest


def kml_names(gdf: gpd.GeoDataFrame, spec: LayerSpec) -> tuple[gpd.GeoDataFrame, dict]:
    """KML placemark names: the name (or code) field; for incidents, type (zh) and time."""
    name = next((c for c in NAME_FIELDS if c in gdf.columns), None)
    if name:
        return gdf, {"NameField": name, "DescriptionField": "description"}
    enum = next(f for f in spec.fields if f.kind == "enum")
    label = gdf[enum.name].map(lambda k: (enum.vocab or {}).get(k, (k,))[0])
    if "occurred_at" in gdf.columns:
        label = label + " " + gdf["occurred_at"].fillna("").str.slice(0, 16).str.replace("T", " ")
    return gdf.assign(label=label), {"NameField": "label", "DescriptionField": "description"}


def write_csv(df, dest: Path) -> Path:
    out = _times_as_text(df)
    if isinstance(out, gpd.GeoDataFrame):
        geoms = out.geometry.to_numpy()
        out = pd.DataFrame(out.drop(columns=out.geometry.name))
        if len(geoms) and (shapely.get_type_id(geoms) == 0).all():
            out["lon"], out["lat"] = shapely.get_x(geoms), shapely.get_y(geoms)
        else:
            out["wkt"] = shapely.to_wkt(geoms, rounding_precision=-1)
    out.to_csv(dest, index=False, encoding="utf-8-sig")
    return dest


def shapefile_columns(spec: LayerSpec, columns) -> dict[str, str]:
    """Our column → its Shapefile name (≤ 10 bytes)."""
    names = {}
    for c in columns:
        try:
            names[c] = spec.field(c).shp_name
        except KeyError:
            names[c] = c
    too_long = [n for n in names.values() if len(n.encode()) > 10]
    if too_long:
        raise ValueError(f"Shapefile field names longer than 10 bytes: {too_long}")
    return names


def write_shapefile_zip(gdf: gpd.GeoDataFrame, spec: LayerSpec, dest: Path) -> Path:
    gdf = gdf.rename(columns=shapefile_columns(spec, [c for c in gdf.columns if c != gdf.geometry.name]))
    with tempfile.TemporaryDirectory(prefix="wangge_shp_") as tmp:
        shp = Path(tmp) / f"{spec.key}.shp"
        pyogrio.write_dataframe(gdf, shp, driver="ESRI Shapefile", encoding="UTF-8",
                                geometry_type=spec.geometry_type)
        with zipfile.ZipFile(dest, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in sorted(Path(tmp).iterdir()):
                zf.write(f, f.name)
    return dest


def export_layer(session: Session, spec: LayerSpec, dest: str | Path, fmt: str | None = None,
                 jurisdiction: str | None = None, bbox=None, grid: str | None = None) -> ExportResult:
    """Write the layer's rows (filtered by bbox / grid) to ``dest``."""
    f = choose_format(fmt, dest)
    if spec.key == "staff" and f.key != "csv":
        raise WanggeError("unsupported_format", "网格人员只能导出为 CSV", "Staff can only be exported as CSV", 422)
    df = layer_frame(session, spec, jurisdiction, bbox, grid)
    Path(dest).unlink(missing_ok=True)  # GDAL would add a layer to an existing GeoPackage
    path = write_frame(df, spec, f, Path(dest))
    return ExportResult(path, len(df), f)
