"""GeoDataFrames to the GeoJSON a page embeds: light, and safe to show.

- only the columns a page shows;
- coordinates rounded to 6 decimals (about 0.1 m), optional simplification in metres in the
  jurisdiction's metric CRS (never in degrees);
- text values HTML-escaped, because folium's GeoJsonTooltip / GeoJsonPopup put property
  values into ``innerHTML``: a grid named ``<img onerror=...>`` must show as text; braces
  become entities, because folium compiles rendered scripts again as Jinja templates
  (see :mod:`dashboards.safe`).
"""
from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from dashboards.safe import html_text

PRECISION = 6


def _round(geoms: np.ndarray, decimals: int) -> np.ndarray:
    return shapely.transform(geoms, lambda xy: np.round(xy, decimals))


def display_geometry(gdf: gpd.GeoDataFrame, simplify_m: float | None = None,
                     metric_epsg: int | None = None, decimals: int = PRECISION) -> gpd.GeoSeries:
    """Geometries in EPSG:4326, simplified by ``simplify_m`` metres and rounded."""
    geom = gdf.geometry.to_crs(4326)
    if simplify_m:
        if metric_epsg is None:
            raise ValueError("simplifying in metres needs the metric CRS")
        geom = geom.to_crs(metric_epsg).simplify(simplify_m, preserve_topology=True).to_crs(4326)
    return gpd.GeoSeries(_round(geom.to_numpy(), decimals), index=gdf.index, crs=4326)


def _escaped(col: pd.Series) -> pd.Series:
    if col.dtype == object or pd.api.types.is_string_dtype(col):
        return col.map(lambda v: html_text(v) if isinstance(v, str) else v)
    return col


def feature_collection(gdf: gpd.GeoDataFrame, columns: list[str], simplify_m: float | None = None,
                       metric_epsg: int | None = None) -> dict:
    """A GeoJSON FeatureCollection of ``columns`` (text escaped), ids from the frame's index.

    Built with vectorised calls (``shapely.to_geojson``, pandas' JSON writer): a town page
    embeds tens of thousands of buildings.
    """
    geom = display_geometry(gdf, simplify_m, metric_epsg)
    keep = ~(geom.is_empty | geom.isna()).to_numpy()
    props = pd.DataFrame({c: _escaped(gdf[c]) for c in columns}, index=gdf.index)[keep]
    records = json.loads(props.to_json(orient="records", force_ascii=False)) if columns else [{}] * int(keep.sum())
    geoms = json.loads("[" + ",".join(shapely.to_geojson(geom.to_numpy()[keep])) + "]")
    ids = [str(i) for i in gdf.index[keep]]
    return {"type": "FeatureCollection", "features": [
        {"type": "Feature", "id": i, "properties": p, "geometry": g} for i, p, g in zip(ids, records, geoms)]}
