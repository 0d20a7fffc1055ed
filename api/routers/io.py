"""Import (multipart upload) and export (file download) of layers: parse, call api.io, respond."""
from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Query, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel
from starlette.background import BackgroundTask

from api.auth import require_read, require_write
from api.deps import JurisdictionQ, PrincipalDep, SessionDep, SettingsDep
from api.errors import WanggeError
from api.io import ImportOptions, import_file, importable_spec
from api.io.export import choose_format, export_layer, parse_bbox
from api.io.mapping import parse_map_options

router = APIRouter(tags=["import / export"])
_CHUNK = 1 << 20
JurisdictionInQuery = Annotated[str | None, Query(alias="jurisdiction", pattern=r"^[0-9]{6,15}$",
                                                  description="辖区编码 / jurisdiction code (or as a form field)")]


class ImportResultPublic(BaseModel):
    layer: str
    jurisdiction: str
    rows_written: int
    mapping: dict[str, str]
    ignored_columns: list[str]
    format: str
    encoding: str | None
    crs: str | None
    coords: str
    seconds: float
    rows_per_second: float
    timings: dict[str, float]
    grid_assignment: dict[str, int]
    messages: list[dict[str, Any]]


@contextmanager
def saved_upload(upload: UploadFile, max_bytes: int) -> Iterator[Path]:
    """The upload in a temporary directory under its own (sanitised) name, size-capped."""
    name = Path(upload.filename or "").name
    if not Path(name).suffix:
        raise WanggeError("missing_file_name", "上传文件需带扩展名（.geojson、.gpkg、.zip、.csv）",
                          "The uploaded file needs an extension (.geojson, .gpkg, .zip, .csv)", 422)
    with tempfile.TemporaryDirectory(prefix="wangge_upload_") as tmp:
        path = Path(tmp) / name
        _copy_capped(upload, path, max_bytes)
        yield path


def _copy_capped(upload: UploadFile, path: Path, max_bytes: int) -> None:
    size = 0
    with path.open("wb") as out:
        while chunk := upload.file.read(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise WanggeError("file_too_large", f"文件超过上限 {max_bytes // 2**20} MB，请用命令行 wangge import",
                                  f"The file exceeds {max_bytes // 2**20} MB: use the `wangge import` command", 413)
            out.write(chunk)


@router.post("/import/{layer}", response_model=ImportResultPublic,
             summary="导入图层（上传文件）/ Import a layer from an uploaded file")
def import_layer(layer: str, session: SessionDep, principal: PrincipalDep, settings: SettingsDep,
                 file: Annotated[UploadFile, File(description="GeoJSON, GeoPackage, Shapefile .zip or CSV")],
                 jurisdiction: Annotated[str | None, Form()] = None,
                 coords: Annotated[str, Form()] = "wgs84",
                 map: Annotated[list[str] | None, Form(description="field=COLUMN (repeatable)")] = None,
                 crs: Annotated[str | None, Form()] = None,
                 encoding: Annotated[str | None, Form()] = None,
                 source_layer: Annotated[str | None, Form()] = None,
                 jurisdiction_q: JurisdictionInQuery = None):
    require_write(principal, importable_spec(layer))
    opts = ImportOptions(jurisdiction=jurisdiction or jurisdiction_q, coords=coords,
                         mapping=parse_map_options(map), crs=crs, encoding=encoding, source_layer=source_layer)
    with saved_upload(file, settings.import_max_bytes) as path:
        return import_file(session, layer, path, opts).as_dict()


@router.get("/export/{layer}", response_class=FileResponse,
            summary="导出图层（文件下载）/ Export a layer as a file")
def export(layer: str, session: SessionDep, principal: PrincipalDep, jurisdiction: JurisdictionQ = None,
           fmt: Annotated[str, Query(alias="format", description="geojson, gpkg, shp, kml, csv")] = "geojson",
           bbox: Annotated[str | None, Query(description="minx,miny,maxx,maxy (lon/lat)")] = None,
           grid: Annotated[str | None, Query(description="grid code")] = None):
    spec = importable_spec(layer)
    require_read(principal, spec)
    f = choose_format(fmt)
    tmp = tempfile.mkdtemp(prefix="wangge_export_")
    try:
        r = export_layer(session, spec, Path(tmp) / f"{layer}{f.suffix}", f.key, jurisdiction, parse_bbox(bbox), grid)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return FileResponse(r.path, media_type=f.media_type, filename=f"{layer}{f.suffix}",
                        background=BackgroundTask(shutil.rmtree, tmp, ignore_errors=True))
