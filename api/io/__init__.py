"""Import and export of every layer (GeoJSON, GeoPackage, Shapefile .zip, CSV, KML).

Services only: the CLI (:mod:`api.cli_io`) and the API (:mod:`api.routers.io`) parse their
arguments and call :func:`import_file` / :func:`export_layer`.

Modules: ``readers`` (files → columns + geometries), ``mapping`` (their columns → our
fields), ``values`` (typed columns), ``rules`` (codes, grid profile, camera IDs, incident
steps), ``geometry`` (CRS, GCJ-02/BD-09, type, validity, boundary), ``validate`` (all of it,
problems listed), ``write`` + ``pgcopy`` (Arrow-encoded COPY, pipelined), ``staff``,
``export``, ``bench`` (``python -m api.io.bench``).
"""
from api.io.export import export_layer
from api.io.importer import ImportOptions, ImportResult, import_file, importable_spec

__all__ = ["ImportOptions", "ImportResult", "export_layer", "import_file", "importable_spec"]
