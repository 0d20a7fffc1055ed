"""Fast bulk writing: a typed table → PostgreSQL ``COPY … (FORMAT csv)`` inside the caller's
transaction, encoded with pyarrow's C++ CSV writer.

Why not :func:`api.db.bulk.copy_frame`: for 1M building footprints its hex-EWKB encoding
(shapely, ~12 s) and ``DataFrame.to_csv`` (~10 s) dominate the whole import. Here the WKB
is hex-encoded with one numpy table look-up over the whole byte buffer and the CSV is written
by Arrow, ~1 s per million rows. Geometry is sent as hex WKB without SRID: PostGIS gives it
the column's SRID (4326) on input.
"""
from __future__ import annotations

import io
import queue
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.db.bulk import raw_connection

CHUNK = 100_000
COPY_BUFFER = 4 << 20  # bytes per read of the COPY stream
_HEX = np.frombuffer(b"".join(f"{i:02X}".encode() for i in range(256)), dtype=np.uint16)
_CSV = pacsv.WriteOptions(include_header=False, quoting_style="needed", null_string="")
BULK_ROWS = 100_000  # from this many new rows (and more than stored), build indexes after the COPY


def hex_wkb(wkb: pa.Array) -> pa.StringArray:
    """Upper-case hex of each binary value, vectorised over the whole data buffer."""
    wkb = pa.concat_arrays([wkb.cast(pa.binary())]) if isinstance(wkb, pa.Array) else \
        pa.concat_arrays(wkb.cast(pa.binary()).chunks)
    validity, offsets_buf, data_buf = wkb.buffers()
    offsets = np.frombuffer(offsets_buf, dtype=np.int32, count=len(wkb) + 1, offset=wkb.offset * 4)
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    hexed = _HEX[data[offsets[0]:offsets[-1]]]
    new_offsets = ((offsets - offsets[0]) * 2).astype(np.int32)
    if validity is not None and wkb.offset:
        validity = pa.array(wkb.is_valid().to_numpy(zero_copy_only=False)).buffers()[1]
    return pa.StringArray.from_buffers(len(wkb), pa.py_buffer(new_offsets), pa.py_buffer(hexed),
                                       validity, wkb.null_count)


def copy_arrays(cursor, table_name: str, columns: Mapping[str, pa.Array],
                advance: Callable[[int], None] | None = None) -> int:
    """COPY ``columns`` (name → Arrow array, all the same length) into ``table_name`` with a
    DBAPI cursor. A binary column (WKB) is sent as hex. Nulls are written as unquoted empty
    fields, which COPY reads as NULL; empty strings are quoted and stay empty strings."""
    arrays = {k: (hex_wkb(v) if pa.types.is_binary(v.type) else v) for k, v in columns.items()}
    table = pa.table(arrays)
    cols = ", ".join(f'"{c}"' for c in table.column_names)
    sql = f"COPY {table_name} ({cols}) FROM STDIN WITH (FORMAT csv)"
    for start in range(0, table.num_rows, CHUNK):
        part = table.slice(start, CHUNK)
        sink = io.BytesIO()
        pacsv.write_csv(part, sink, _CSV)
        sink.seek(0)
        cursor.copy_expert(sql, sink, size=COPY_BUFFER)  # few, big reads: little GIL traffic
        if advance:
            advance(part.num_rows)
    return table.num_rows


def copy_table(session: Session, table_name: str, columns: Mapping[str, pa.Array],
               advance: Callable[[int], None] | None = None) -> int:
    """:func:`copy_arrays` on the session's connection (inside its transaction)."""
    return copy_arrays(raw_connection(session).cursor(), table_name, columns, advance)


class ChunkWriter:
    """COPY chunks on a background thread while the caller validates the next ones.

    The thread only uses the transaction's DBAPI connection; the caller must not use the
    session until the ``with`` block ends (which waits for the thread). The first database
    error is re-raised there.
    """

    def __init__(self, session: Session, table_name: str, advance: Callable[[int], None] | None = None,
                 background: bool = True):
        self.background = background
        self.cursor = raw_connection(session).cursor()
        self.table_name, self.advance = table_name, advance
        self.queue: queue.Queue = queue.Queue(maxsize=2)
        self.error: BaseException | None = None
        self.written = 0
        self.thread = threading.Thread(target=self._run, name="wangge-copy", daemon=True)

    def __enter__(self) -> "ChunkWriter":
        if self.background:
            self.thread.start()
        return self

    def submit(self, columns: Mapping[str, pa.Array]) -> None:
        if self.error is not None:
            raise self.error
        if not self.background:
            self.written += copy_arrays(self.cursor, self.table_name, columns, self.advance)
            return
        self.queue.put(columns)

    def _run(self) -> None:
        while (columns := self.queue.get()) is not None:
            if self.error is None:
                try:
                    self.written += copy_arrays(self.cursor, self.table_name, columns, self.advance)
                except BaseException as e:  # re-raised in the caller's thread
                    self.error = e

    def __exit__(self, exc_type, exc, tb) -> None:
        if not self.background:
            return
        self.queue.put(None)
        self.thread.join()
        if self.error is not None and exc_type is None:
            raise self.error


_INDEXES = text("""
    SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
    WHERE i.indrelid = CAST(:t AS regclass) AND NOT i.indisprimary
      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)""")
_KEYS = text("""
    SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint
    WHERE conrelid = CAST(:t AS regclass)
      AND (contype IN ('u', 'f') OR (contype = 'c' AND pg_get_constraintdef(oid) ILIKE '%st_isvalid%'))
    ORDER BY contype DESC, conname""")


def _stored_rows(session: Session, table_name: str) -> int:
    return session.execute(text("SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = CAST(:t AS regclass)"),
                           {"t": table_name}).scalar_one()


@contextmanager
def deferred_indexes(session: Session, table_name: str, new_rows: int) -> Iterator[bool]:
    """For a big load into a (nearly) empty table, do what pg_restore does: drop its
    secondary indexes, unique and foreign keys, COPY, then build them again (one sort or
    one join each, instead of a million insertions and trigger calls). Geometry validity
    CHECKs (ST_IsValid: half the COPY time when evaluated row by row) are added back the
    same way, validating every row in one scan; cheap CHECKs and the primary key stay.

    Inside the caller's transaction: on any error everything is rolled back with the rows.
    The table is locked for the duration (ACCESS EXCLUSIVE), as with any bulk rebuild.
    """
    if new_rows < BULK_ROWS or new_rows < _stored_rows(session, table_name):
        yield False
        return
    indexes = session.execute(_INDEXES, {"t": table_name}).all()
    keys = session.execute(_KEYS, {"t": table_name}).all()
    for name, _ in keys:
        session.execute(text(f'ALTER TABLE "{table_name}" DROP CONSTRAINT "{name}"'))
    for name, _ in indexes:
        session.execute(text(f'DROP INDEX "{name}"'))
    yield True
    for _, ddl in indexes:
        session.execute(text(ddl))
    for name, ddl in keys:  # unique, foreign keys (one join each), checks (one scan each)
        session.execute(text(f'ALTER TABLE "{table_name}" ADD CONSTRAINT "{name}" {ddl}'))


def analyze(session: Session, table_name: str) -> None:
    """Refresh planner statistics after a big load (grid assignment plans depend on them)."""
    session.execute(text(f'ANALYZE "{table_name}"'))
