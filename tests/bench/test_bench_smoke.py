"""The load benchmark at a tiny scale: every approach loads the same rows, and what lands in
PostGIS (rows, households, sum of areas) agrees between them and with the file. Times are
printed by ``make bench``, never asserted here."""
from __future__ import annotations

from bench import load_buildings
from bench.common import format_report


def test_load_benchmark_approaches_agree(tmp_path):
    rep = load_buildings.run(n=2_000, repeat=1, data_dir=tmp_path, small_city=True)
    by_name = {r.approach: r for r in rep.rows}
    assert set(by_name) == {load_buildings.LABELS[a] for a in load_buildings.APPROACHES}
    assert all(r.rows == 2_000 for r in rep.rows)
    assert all(r.checksum_ok for r in rep.rows)
    table = format_report(rep)
    assert "1.00x (ref)" in table and load_buildings.LABELS["ogr2ogr"] in table


def test_the_bulk_path_takes_a_flatgeobuf_too(tmp_path):
    rep = load_buildings.run(n=1_500, repeat=1, fmt="fgb", data_dir=tmp_path, small_city=True,
                             approaches=("bulk", "ogr2ogr"))
    assert [r.rows for r in rep.rows] == [1_500, 1_500]
    assert all(r.checksum_ok for r in rep.rows)
