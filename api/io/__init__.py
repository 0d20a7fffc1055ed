"""Import and export of every layer (GeoJSON, GeoPackage, Shapefile .zip, CSV; KML out).

Services only: the CLI (:mod:`api.cli_io`) and the API (:mod:`api.routers.io`) parse their
arguments and call :func:`import_file` / :func:`export_layer`.
"""
from api.io.importer import ImportOptions, ImportResult, import_file, importable_spec

__all__ = ["ImportOptions", "ImportResult", "import_file", "importable_spec"]
