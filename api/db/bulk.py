"""Bulk loading with PostgreSQL ``COPY`` inside the caller's transaction.

Input frames are already validated and typed (see :mod:`api.io`): columns named after the
layer's fields, geometry in EPSG:4326 and of the layer's type. Nothing here commits.

Rows go over in PostgreSQL's *binary* COPY format, assembled with numpy and Arrow
(fixed-width fields as big-endian record arrays, text and WKB as byte strings, joined in one
C call): for 1M building footprints a few seconds of Python instead of ~40 s for hex EWKB +
``to_csv``, and fewer bytes for the server to parse.
The target columns' types are read from the catalogue; a type the encoder does not know
makes the frame go over as CSV, as before.

A large load into a (nearly) empty table drops its secondary indexes (GiST, btree, unique)
and foreign keys and builds them again after the COPY, in the same transaction
(:func:`deferred_indexes`): one sorted build or one join is several times faster than a
million insertions and trigger calls. The CHECK constraints (ST_IsValid) and the primary key
stay in force for every row. Encoding runs on a thread while the server inserts.
"""
from __future__ import annotations

import io
import queue
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import shapely
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from api.layers import LayerSpec

CHUNK = 200_000
BULK_ROWS = 100_000   # from this many new rows (and more than stored), indexes are rebuilt after
_PG_EPOCH_US = 946_684_800_000_000   # 2000-01-01 in microseconds since 1970
_HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
_TRAILER = struct.pack(">h", -1)
_FIXED = {"smallint": ">i2", "integer": ">i4", "bigint": ">i8", "real": ">f4",
          "double precision": ">f8", "boolean": "?",
          "timestamp with time zone": ">i8", "timestamp without time zone": ">i8"}
_VAR = {"text", "character varying", "geometry"}


def _frame_for_copy(spec: LayerSpec, gdf: gpd.GeoDataFrame, jurisdiction_id: int,
                    columns: list[str]) -> pd.DataFrame:
    """The rows as COPY takes them: typed values and shapely geometries (EPSG:4326)."""
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        raise ValueError(f"geometries must be in EPSG:4326, not {gdf.crs}")
    data = {"jurisdiction_id": np.full(len(gdf), jurisdiction_id, dtype=np.int64)}
    for c in columns:
        col, f = gdf[c].array, spec.field(c)    # .array: no copy (Arrow strings stay Arrow)
        if f.kind == "bool" and col.dtype != bool:
            col = pd.array(col, dtype="boolean")
        elif f.kind == "int" and not (isinstance(col.dtype, np.dtype) and col.dtype.kind in "iu"):
            col = pd.array(col, dtype="Int64")
        elif f.kind == "datetime":
            col = pd.to_datetime(pd.Series(col), utc=True).array
        data[c] = col
    data["geom"] = gdf.geometry.to_numpy()   # SRID 0: the column's 4326 applies on input
    return pd.DataFrame(data, index=pd.RangeIndex(len(gdf)), copy=False)


def raw_connection(session: Session):
    """The DBAPI (psycopg2) connection of this session's transaction."""
    return session.connection().connection.dbapi_connection


# ---------------------------------------------------------------------------------------------
# binary COPY

def _column_types(session: Session, table: str) -> dict[str, str]:
    rows = session.execute(text(
        "SELECT a.attname, format_type(a.atttypid, NULL) FROM pg_attribute a "
        "WHERE a.attrelid = CAST(:t AS regclass) AND a.attnum > 0 AND NOT a.attisdropped"),
        {"t": table}).all()
    return {name: typ for name, typ in rows}


def _fixed_values(values, pgtype: str) -> np.ndarray:
    """Values of a fixed-width column as numbers (NULLs zero-filled; masked separately)."""
    if pgtype.startswith("timestamp"):
        t = pd.to_datetime(pd.Series(values), utc=pgtype == "timestamp with time zone")
        if pgtype == "timestamp with time zone":
            t = t.dt.tz_convert("UTC").dt.tz_localize(None)
        return t.to_numpy(dtype="datetime64[us]").view(np.int64) - _PG_EPOCH_US
    s = pd.Series(values)
    if pgtype == "boolean":
        if s.dtype == object:                      # 't' / 'f' text from an older caller
            s = s.map({"t": True, "f": False, True: True, False: False})
        return s.fillna(False).to_numpy(dtype=bool)
    return s.fillna(0).to_numpy(dtype=_FIXED[pgtype].lstrip(">"))


def _fixed_bytes(values, pgtype: str, nulls: np.ndarray) -> pa.Array:
    """A fixed-width column with NULLs, as a binary array (its big-endian values)."""
    raw = np.ascontiguousarray(_fixed_values(values, pgtype), dtype=_FIXED[pgtype])
    size = raw.dtype.itemsize
    return pa.Array.from_buffers(pa.binary(), len(raw), [
        pa.array(~nulls).buffers()[1], pa.py_buffer(np.arange(len(raw) + 1, dtype=np.int32) * size),
        pa.py_buffer(raw.view(np.uint8))])


def _var_array(values, pgtype: str) -> pa.Array:
    """A text or geometry column as an Arrow binary array (UTF-8 text; EWKB)."""
    if pgtype == "geometry":
        arr = np.asarray(values, dtype=object)
        if isinstance(next((v for v in arr if v is not None), None), str):   # hex EWKB
            return pa.array([None if v is None else bytes.fromhex(v) for v in arr], type=pa.binary())
        # no SRID set (0): plain WKB, and PostGIS gives it the column's SRID on input
        return pa.array(shapely.to_wkb(arr, include_srid=True), type=pa.binary())
    try:
        return pa.array(values, type=pa.string(), from_pandas=True).cast(pa.binary())
    except (pa.ArrowInvalid, pa.ArrowTypeError):    # not all str: the text of each value
        s = pd.Series(values, dtype=object)
        return pa.array(s.where(s.isna(), s.astype(str)), type=pa.string(), from_pandas=True).cast(pa.binary())


def _layout(frame: pd.DataFrame, types: dict[str, str]) -> tuple[list[str], list[str]]:
    """(fixed, var): fixed-width columns without NULLs go in one record per row; the others
    (text, geometry, fixed-width with NULLs) follow as (length, bytes) pieces."""
    fixed = [c for c in frame.columns if types[c] in _FIXED and not pd.isna(frame[c].array).any()]
    return fixed, [c for c in frame.columns if c not in fixed]


def _binary_rows(frame: pd.DataFrame, types: dict[str, str], fixed: list[str], var: list[str]) -> bytes:
    """The rows of ``frame`` in COPY BINARY format (columns ``fixed + var``), joined in one
    C call from a record array and the var columns' byte strings."""
    n = len(frame)
    fields = [("count", ">i2")]
    for c in fixed:
        fields += [(f"{c}__len", ">i4"), (c, _FIXED[types[c]])]
    rec = np.zeros(n, dtype=fields)
    rec["count"] = len(fixed) + len(var)
    for c in fixed:
        rec[f"{c}__len"] = np.dtype(_FIXED[types[c]]).itemsize
        rec[c] = _fixed_values(frame[c].array, types[c])
    parts = [rec.view(f"V{rec.dtype.itemsize}").tolist()]
    for c in var:
        vals, t = frame[c].array, types[c]
        arr = _fixed_bytes(vals, t, np.asarray(pd.isna(vals), dtype=bool)) if t in _FIXED else _var_array(vals, t)
        lengths = pc.fill_null(pc.binary_length(arr), -1).to_numpy().astype(">i4")
        parts.append(lengths.view("V4").tolist())
        parts.append(arr.fill_null(b"").to_pylist() if arr.null_count else arr.to_pylist())
    pieces: list = [None] * (n * len(parts))
    for i, p in enumerate(parts):
        pieces[i::len(parts)] = p
    return b"".join(pieces)


class _Feed(io.RawIOBase):
    """A file COPY reads from while a thread encodes the next chunks: the client encodes
    while the server inserts (two cores), memory bounded by a 2-chunk queue."""

    def __init__(self, chunks: Iterator[tuple[int, bytes]], progress: Callable[[int], None] | None):
        self._q: queue.Queue = queue.Queue(maxsize=2)
        self._buf, self._pos, self._done, self._error = b"", 0, False, None
        self._progress = progress
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._produce, args=(chunks,), daemon=True)
        self._thread.start()

    def _produce(self, chunks) -> None:
        try:
            for item in chunks:
                while not self._stop.is_set():
                    try:
                        self._q.put(item, timeout=0.2)
                        break
                    except queue.Full:
                        continue
                if self._stop.is_set():
                    return
        except BaseException as e:  # noqa: BLE001 (re-raised in the reading thread)
            self._error = e
        self._q.put(None)

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while self._pos >= len(self._buf) and not self._done:
            item = self._q.get()
            if item is None:
                self._done = True
                if self._error is not None:
                    raise self._error
                break
            rows, self._buf, self._pos = item[0], item[1], 0
            if self._progress:
                self._progress(rows)
        if self._pos >= len(self._buf):
            return b""
        end = len(self._buf) if size is None or size < 0 else self._pos + size
        out = self._buf[self._pos:end]
        self._pos += len(out)
        return out

    def close(self) -> None:
        self._stop.set()
        while self._thread.is_alive():
            try:
                self._q.get(timeout=0.1)
            except queue.Empty:
                pass
        super().close()


def _copy_binary(cur, table: str, frame: pd.DataFrame, types: dict[str, str],
                 progress: Callable[[int], None] | None) -> int:
    fixed, var = _layout(frame, types)
    n = len(frame)

    def chunks():
        yield 0, _HEADER
        for start in range(0, n, CHUNK):
            part = frame.iloc[start:start + CHUNK]
            yield len(part), _binary_rows(part, types, fixed, var)
        yield 0, _TRAILER

    cols = ", ".join(f'"{c}"' for c in fixed + var)
    feed = _Feed(chunks(), progress)
    try:
        cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT binary)", feed, size=1 << 20)
    finally:
        feed.close()
    return n


def _copy_csv(cur, table: str, frame: pd.DataFrame, progress: Callable[[int], None] | None) -> int:
    out = frame.copy()
    for c in out.columns:
        if len(out) and isinstance(out[c].iloc[0], shapely.Geometry):
            out[c] = shapely.to_wkb(out[c].to_numpy(), hex=True, include_srid=True)
    cols = ", ".join(f'"{c}"' for c in out.columns)
    n = len(out)
    for start in range(0, n, CHUNK):
        buf = io.StringIO()
        out.iloc[start:start + CHUNK].to_csv(buf, header=False, index=False, na_rep="")
        buf.seek(0)
        cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (FORMAT csv)", buf)
        if progress:
            progress(min(CHUNK, n - start))
    return n


def copy_frame(session: Session, table: str, frame: pd.DataFrame,
               progress: Callable[[int], None] | None = None) -> int:
    """COPY a frame into ``table`` in chunks; returns rows. Binary COPY when every column's
    type is one the encoder knows (ints, floats, bool, timestamps, text, geometry given as
    shapely geometries with their SRID or hex EWKB), else CSV (NULL = empty unquoted)."""
    types = _column_types(session, table)
    cur = raw_connection(session).cursor()
    if all(types.get(c) in _FIXED or types.get(c) in _VAR for c in frame.columns):
        return _copy_binary(cur, table, frame, types, progress)
    return _copy_csv(cur, table, frame, progress)


# ---------------------------------------------------------------------------------------------
# large loads

_SECONDARY = text("""
    SELECT format('%I.%I', n.nspname, ic.relname), pg_get_indexdef(i.indexrelid),
           c.conname, pg_get_constraintdef(c.oid)
    FROM pg_index i
    JOIN pg_class ic ON ic.oid = i.indexrelid
    JOIN pg_namespace n ON n.oid = ic.relnamespace
    LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid AND c.conrelid = i.indrelid
    WHERE i.indrelid = CAST(:t AS regclass) AND NOT i.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_constraint f WHERE f.contype = 'f' AND f.conindid = i.indexrelid)
    ORDER BY ic.relname""")
_FOREIGN_KEYS = text("""
    SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
    WHERE conrelid = CAST(:t AS regclass) AND contype = 'f' ORDER BY conname""")
FK_LOCK_TIMEOUT = "2s"


def _drop_foreign_keys(session: Session, table: str) -> list[tuple[str, str]]:
    """Drop ``table``'s foreign keys if their tables can be locked within
    :data:`FK_LOCK_TIMEOUT` (dropping a key locks the referenced table too); else keep them
    (row-by-row checks, slower but no waiting on a busy service). Returns what was dropped."""
    keys = session.execute(_FOREIGN_KEYS, {"t": table}).all()
    if not keys:
        return []
    sp = session.begin_nested()
    try:
        session.execute(text(f"SET LOCAL lock_timeout = '{FK_LOCK_TIMEOUT}'"))
        for name, _ in keys:
            session.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        session.execute(text("SET LOCAL lock_timeout = DEFAULT"))
        sp.commit()
        return keys
    except DBAPIError as e:
        sp.rollback()
        if getattr(e.orig, "pgcode", None) != "55P03":   # lock_not_available
            raise
        return []


@contextmanager
def deferred_indexes(session: Session, table: str, new_rows: int,
                     foreign_keys: bool = True) -> Iterator[bool]:
    """For a load of ``new_rows`` (at least :data:`BULK_ROWS`, and more than the rows stored)
    do what pg_restore does: drop ``table``'s secondary indexes — GiST, btree, the unique
    constraints with theirs — and (``foreign_keys``) its foreign keys, load, then build them
    again: one sorted build per index and one join per key instead of a million insertions
    and trigger calls. A unique constraint or foreign key added back checks every row, and any
    error rolls everything back with the rows, so the guarantees are the same. The primary
    key and the CHECK constraints (ST_IsValid) stay in force row by row.

    Locks: the table is ACCESS EXCLUSIVE until commit; dropping a foreign key also locks the
    referenced table (jurisdiction, grid) until commit, so keys are only dropped when those
    locks come within :data:`FK_LOCK_TIMEOUT` — reads of them wait for the load to finish.
    """
    if new_rows < BULK_ROWS:
        yield False
        return
    stored = session.execute(text(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT :k) s"),
                             {"k": new_rows}).scalar_one()
    if stored >= new_rows:
        yield False
        return
    keys = _drop_foreign_keys(session, table) if foreign_keys else []
    defs = session.execute(_SECONDARY, {"t": table}).all()
    for index, _, con, _ in defs:
        session.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{con}"' if con else f"DROP INDEX {index}"))
    yield True
    session.execute(text("SET LOCAL maintenance_work_mem = '1GB'"))
    for _, indexdef, con, condef in defs:
        session.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{con}" {condef}' if con else indexdef))
    for name, condef in keys:
        session.execute(text(f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {condef}'))
    session.execute(text(f"ANALYZE {table}"))


def copy_layer(session: Session, spec: LayerSpec, gdf: gpd.GeoDataFrame, jurisdiction_id: int,
               progress: Callable[[int], None] | None = None) -> int:
    """Insert validated features of a (non-grid) layer with COPY; returns the row count."""
    if spec.key == "grids":
        raise ValueError("grids are loaded with copy_grids (levels and parents)")
    columns = [f.name for f in spec.input_fields if f.name in gdf.columns]
    frame = _frame_for_copy(spec, gdf, jurisdiction_id, columns)
    table = spec.model.__tablename__
    with deferred_indexes(session, table, len(frame)):
        return copy_frame(session, table, frame, progress)


def copy_grids(session: Session, spec: LayerSpec, gdf: gpd.GeoDataFrame, jurisdiction_id: int,
               levels: np.ndarray, parent_codes: np.ndarray) -> int:
    """Insert grids level by level, resolving parents by code (parents may be in the batch)."""
    session.execute(text("CREATE TEMP TABLE _grid_in (code text, name text, geom geometry, "
                         "level smallint, parent_code text) ON COMMIT DROP"))
    frame = pd.DataFrame({"code": gdf["code"].to_numpy(), "name": gdf["name"].to_numpy(),
                          "geom": shapely.set_srid(gdf.geometry.to_numpy(), 4326),
                          "level": np.asarray(levels, dtype=np.int64), "parent_code": parent_codes})
    copy_frame(session, "_grid_in", frame)
    total = 0
    for lv in sorted(set(int(x) for x in levels)):
        res = session.execute(text(
            "INSERT INTO grid (jurisdiction_id, level, code, name, parent_id, geom) "
            "SELECT :j, i.level, i.code, i.name, p.id, i.geom FROM _grid_in i "
            "LEFT JOIN grid p ON p.jurisdiction_id = :j AND p.code = i.parent_code "
            "WHERE i.level = :lv"), {"j": jurisdiction_id, "lv": lv})
        total += res.rowcount
    session.execute(text("DROP TABLE _grid_in"))
    return total
