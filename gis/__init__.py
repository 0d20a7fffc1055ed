"""Pure geometry and analysis for Wangge: shapely / geopandas / numpy in, the same out.

No database, web or file access lives here.
"""
