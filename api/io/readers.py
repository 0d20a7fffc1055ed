"""Reading an input file into attribute columns + geometries, without judging them.

GeoJSON, GeoPackage, Shapefile (a .zip, or a .shp beside its sidecars) and KML are read
with pyogrio's Arrow reader; CSV with Arrow's CSV reader, its geometry from lon/lat columns or a
WKT column. Text encoding: a Shapefile's .cpg is honoured; without one (and for CSV) UTF-8
is tried, then GBK (GB18030, its superset), unless ``--encoding`` says otherwise.
"""
from __future__ import annotations

import csv
import io
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyogrio
import shapely
from pyproj import CRS

from api.errors import Problem, WanggeError
from api.io.geometry import threaded

LON_NAMES = ("lon", "lng", "long", "longitude", "x", "经度", "东经", "jd")
LAT_NAMES = ("lat", "latitude", "y", "纬度", "北纬", "wd")
WKT_NAMES = ("wkt", "geometry", "geom", "the_geom", "shape", "几何", "坐标串")
FORMATS = {".geojson": "geojson", ".json": "geojson", ".gpkg": "gpkg", ".shp": "shp",
           ".zip": "zip", ".csv": "csv", ".txt": "csv", ".kml": "kml"}


@dataclass
class Source:
    """What the file holds, as read."""

    attrs: pd.DataFrame
    geoms: np.ndarray | None  # shapely geometries in ``crs`` (None where missing/unreadable)
    unreadable: np.ndarray | None  # a geometry was given but could not be parsed
    crs: CRS | None
    fmt: str
    encoding: str | None = None
    geometry_columns: list[str] = field(default_factory=list)
    raw_geometry: np.ndarray | None = None  # what the file said, for unreadable rows
    wkb: pa.Array | None = None  # the file's own WKB (reused when geometries are unchanged)

    @property
    def n(self) -> int:
        return len(self.attrs)

    @property
    def has_geometry(self) -> bool:
        return self.geoms is not None or self.wkb is not None

    def geometry_rows(self, rows: slice = slice(None)) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
        """(geometries, unreadable mask, what the file said) of ``rows``; WKB is parsed here,
        slice by slice, so that parsing overlaps with writing the previous slice."""
        if self.geoms is not None:
            raw = None if self.raw_geometry is None else self.raw_geometry[rows]
            return self.geoms[rows], self.unreadable[rows], raw
        return _from_wkb(self.wkb[rows])


def bad_file(code: str, zh: str, en: str, status: int = 422) -> WanggeError:
    return WanggeError(code, zh, en, status)


def detect_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise bad_file("unsupported_format",
                       f"不支持的文件格式：{path.suffix or path.name}（支持 GeoJSON、GeoPackage、Shapefile 压缩包 .zip、CSV、KML）",
                       f"Unsupported file format: {path.suffix or path.name} "
                       "(GeoJSON, GeoPackage, zipped Shapefile, CSV, KML)", 415)
    return fmt


def read_source(path: Path, *, encoding: str | None = None, source_layer: str | None = None,
                geometry_map: dict[str, str] | None = None, layer_key: str | None = None,
                need_geometry: bool = True) -> Source:
    """Read ``path`` (format from its extension)."""
    path = Path(path)
    fmt = detect_format(path)
    if fmt == "zip":
        with _unzipped(path) as inner:
            return read_source(inner, encoding=encoding, source_layer=source_layer,
                               geometry_map=geometry_map, layer_key=layer_key, need_geometry=need_geometry)
    if fmt == "csv":
        return read_csv(path, encoding, geometry_map or {}, need_geometry)
    return read_ogr(path, fmt, encoding, source_layer or layer_key, explicit_layer=source_layer)


@contextmanager
def _unzipped(path: Path):
    with tempfile.TemporaryDirectory(prefix="wangge_zip_") as tmp:
        try:
            with zipfile.ZipFile(path) as zf:
                zf.extractall(tmp)
        except zipfile.BadZipFile:
            raise bad_file("bad_zip", "压缩包无法读取", "The .zip file cannot be read") from None
        yield _pick_in_zip(Path(tmp), path.name)


def _pick_in_zip(root: Path, name: str) -> Path:
    files = [p for p in root.rglob("*") if p.is_file() and not p.name.startswith(("._", "."))]
    for ext in (".shp", ".gpkg", ".geojson", ".json", ".csv"):
        hits = sorted(p for p in files if p.suffix.lower() == ext)
        if len(hits) == 1:
            return hits[0]
        if len(hits) > 1:
            raise bad_file("ambiguous_zip", f"压缩包 {name} 中有多个 {ext} 文件，请每个压缩包只放一个图层",
                           f"{name} holds several {ext} files: put one layer per .zip")
    raise bad_file("empty_zip", f"压缩包 {name} 中没有 Shapefile（.shp）", f"{name} holds no Shapefile (.shp)")


# ---- GIS formats (pyogrio) -------------------------------------------------------------------

def read_ogr(path: Path, fmt: str, encoding: str | None, layer: str | None,
             explicit_layer: str | None = None) -> Source:
    enc = _shapefile_encoding(path, encoding) if fmt == "shp" else encoding
    lyr = _choose_layer(path, layer, explicit_layer)
    try:
        meta, table = pyogrio.read_arrow(path, layer=lyr, encoding=enc, datetime_as_string=True)
    except Exception as e:  # GDAL's message names the problem (corrupt file, bad JSON…)
        raise bad_file("unreadable_file", f"文件无法读取：{e}", f"The file cannot be read: {e}") from None
    gcol = meta.get("geometry_name") or "wkb_geometry"
    wkb = table.column(gcol).combine_chunks() if gcol in table.column_names else None
    attrs = _attributes(table.drop_columns([gcol]) if wkb is not None else table, enc)
    crs = CRS.from_user_input(meta["crs"]) if meta.get("crs") else None
    return Source(attrs, None, None, crs, fmt, enc or meta.get("encoding"), wkb=wkb)


def _choose_layer(path: Path, wanted: str | None, explicit: str | None) -> str | None:
    try:
        layers = [str(x[0]) for x in pyogrio.list_layers(path)]
    except Exception as e:
        raise bad_file("unreadable_file", f"文件无法读取：{e}", f"The file cannot be read: {e}") from None
    if explicit:
        if explicit not in layers:
            raise bad_file("unknown_source_layer", f"文件中没有图层 {explicit}（有：{'、'.join(layers)}）",
                           f"The file has no layer {explicit} (it has: {', '.join(layers)})")
        return explicit
    if len(layers) <= 1:
        return None
    if wanted in layers:
        return wanted
    raise bad_file("ambiguous_source_layer",
                   f"文件中有多个图层（{'、'.join(layers)}），请用 --source-layer 指定",
                   f"The file holds several layers ({', '.join(layers)}): choose one with --source-layer")


def _attributes(table: pa.Table, encoding: str | None) -> pd.DataFrame:
    try:
        table.validate(full=True)
    except pa.ArrowInvalid:
        raise bad_file("bad_encoding", f"文本编码无法识别（按 {encoding or 'UTF-8'} 读取失败），请用 --encoding 指定，如 gbk",
                       f"The text cannot be decoded as {encoding or 'UTF-8'}: give --encoding (e.g. gbk)") from None
    return table.to_pandas()


def _from_wkb(wkb: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    raw = wkb.to_numpy(zero_copy_only=False)
    geoms = threaded(lambda a: shapely.from_wkb(a, on_invalid="ignore"), raw)
    unreadable = ~pd.isna(raw) & pd.isna(geoms)
    shown = np.full(len(raw), None, dtype=object)
    shown[unreadable] = [f"WKB ({len(b)} bytes)" for b in raw[unreadable]]
    return geoms, unreadable, shown


def _shapefile_encoding(shp: Path, encoding: str | None) -> str | None:
    """--encoding, else None when a .cpg is there (GDAL honours it), else sniffed from the .dbf."""
    if encoding:
        return normalise_encoding(encoding)
    if _sidecar(shp, ".cpg") is not None:
        return None
    dbf = _sidecar(shp, ".dbf")
    return sniff_dbf_encoding(dbf.read_bytes()) if dbf else None


def _sidecar(shp: Path, ext: str) -> Path | None:
    for p in shp.parent.iterdir():
        if p.stem == shp.stem and p.suffix.lower() == ext:
            return p
    return None


def sniff_dbf_encoding(data: bytes) -> str:
    """UTF-8 if the .dbf records decode as UTF-8, else GB18030 (a superset of GBK)."""
    header_len = int.from_bytes(data[8:10], "little") if len(data) >= 32 else 0
    return "UTF-8" if _is_utf8(data[header_len:]) else "GB18030"


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def normalise_encoding(name: str) -> str:
    """User spellings → what GDAL / Python know (gbk and gb2312 read as GB18030)."""
    key = name.strip().lower().replace("_", "-")
    return {"gbk": "GB18030", "gb2312": "GB18030", "cp936": "GB18030", "936": "GB18030",
            "gb18030": "GB18030", "utf8": "UTF-8", "utf-8": "UTF-8"}.get(key, name.strip())


# ---- CSV ---------------------------------------------------------------------------------------

def read_csv(path: Path, encoding: str | None, geometry_map: dict[str, str], need_geometry: bool) -> Source:
    data, enc = _decoded(path.read_bytes(), encoding)
    header = next(csv.reader(io.StringIO(data[:65536].decode("utf-8", errors="replace"))), [])
    if not header:
        raise bad_file("empty_file", "CSV 文件为空", "The CSV file is empty")
    try:
        table = pacsv.read_csv(io.BytesIO(data), convert_options=pacsv.ConvertOptions(
            column_types={h: pa.string() for h in header}, strings_can_be_null=False))
    except pa.ArrowInvalid as e:
        raise bad_file("unreadable_file", f"CSV 无法读取：{e}", f"The CSV cannot be read: {e}") from None
    attrs = table.to_pandas()
    if not need_geometry:
        return Source(attrs, None, np.zeros(len(attrs), bool), None, "csv", enc)
    return _csv_geometry(attrs, geometry_map, enc)


def _decoded(data: bytes, encoding: str | None) -> tuple[bytes, str]:
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    candidates = [normalise_encoding(encoding)] if encoding else ["UTF-8", "GB18030"]
    for enc in candidates:
        try:
            text = data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
        return (data if enc == "UTF-8" else text.encode("utf-8")), enc
    raise bad_file("bad_encoding", f"CSV 文本编码无法识别（尝试了 {'、'.join(candidates)}），请用 --encoding 指定",
                   f"The CSV text cannot be decoded (tried {', '.join(candidates)}): give --encoding")


def _find(columns, names) -> str | None:
    lower = {str(c).strip().lower(): c for c in columns}
    return next((lower[n] for n in names if n in lower), None)


def _csv_geometry(attrs: pd.DataFrame, gmap: dict[str, str], enc: str) -> Source:
    lon = gmap.get("lon") or _find(attrs.columns, LON_NAMES)
    lat = gmap.get("lat") or _find(attrs.columns, LAT_NAMES)
    wkt = gmap.get("wkt") or (None if lon and lat else _find(attrs.columns, WKT_NAMES))
    if wkt:
        raw = attrs[wkt].str.strip().replace("", None).to_numpy(dtype=object)
        geoms = threaded(lambda a: shapely.from_wkt(a, on_invalid="ignore"), raw)
        return Source(attrs, geoms, ~pd.isna(raw) & pd.isna(geoms), None, "csv", enc, [wkt], raw)
    if not (lon and lat):
        raise WanggeError("no_geometry_columns", "CSV 中找不到坐标列：需要经度/纬度列（lon/lng/经度、lat/纬度）或 WKT 列",
                          "The CSV has no coordinates: it needs lon/lat columns (lon/lng/经度, lat/纬度) or a WKT column",
                          422, [Problem("no_geometry_columns", "可用 --map lon=列名 --map lat=列名 指定",
                                        "Use --map lon=COLUMN --map lat=COLUMN")])
    return _points_from(attrs, lon, lat, enc)


def _points_from(attrs: pd.DataFrame, lon: str, lat: str, enc: str) -> Source:
    xs, ys = (attrs[c].str.strip().replace("", None) for c in (lon, lat))
    x = pd.to_numeric(xs, errors="coerce").to_numpy(dtype=float)
    y = pd.to_numeric(ys, errors="coerce").to_numpy(dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    geoms = np.full(len(attrs), None, dtype=object)
    geoms[ok] = shapely.points(x[ok], y[ok])
    given = (xs.notna() | ys.notna()).to_numpy()
    raw = (xs.fillna("") + "," + ys.fillna("")).to_numpy(dtype=object)
    return Source(attrs, geoms, given & ~ok, None, "csv", enc, [lon, lat], raw)
