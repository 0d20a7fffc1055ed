"""The dashboards index (看板目录): the pages there are, each with a link per jurisdiction."""
from __future__ import annotations

from jinja2 import Environment, PackageLoader, select_autoescape

from api.maps import TownSummary
from dashboards.assets import CSS, WANGGE_CSS
from dashboards.base import page_url
from dashboards.i18n import place_name, t

_ENV = Environment(loader=PackageLoader("dashboards", "templates"),
                   autoescape=select_autoescape(["html"]))

# path and i18n keys of each page, in the order the index lists them
PAGES = [("/dashboards/town", "town_page", "town_page_desc"),
         ("/dashboards/grids", "grids_page", "grids_page_desc"),
         ("/dashboards/coverage", "coverage_page", "coverage_page_desc"),
         ("/dashboards/blindspots", "blindspots_page", "blindspots_page_desc")]


def _links(path: str, towns: list[TownSummary], lang: str, token: str | None) -> list[dict]:
    return [{"label": place_name(x.name, x.name_en, lang), "code": x.code,
             "url": page_url(path, jurisdiction=x.code, lang=lang, token=token)} for x in towns]


def index_page(towns: list[TownSummary], *, lang: str = "zh-CN", token: str | None = None) -> str:
    """The index page's HTML (autoescaped; local styles only)."""
    pages = [{"title": t(title, lang), "description": t(desc, lang), "links": _links(path, towns, lang, token)}
             for path, title, desc in PAGES]
    other = "zh-CN" if lang == "en" else "en"
    return _ENV.get_template("index.html").render(
        lang=lang, title=t("index_title", lang), intro=t("index_intro", lang), none=t("index_none", lang),
        pages=pages, other_language=t("other_language", lang),
        other_language_url=page_url("/dashboards/", lang=other, token=token),
        bootstrap_css=CSS["bootstrap_css"], wangge_css=WANGGE_CSS)
