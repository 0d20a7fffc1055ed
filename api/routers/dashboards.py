"""Dashboards (看板): HTML pages served by the app, working with no internet.

Thin: parse the request, ask :mod:`api.maps` for the data, let a page of :mod:`dashboards`
draw it. A token may come as ``?token=`` (pages are opened from links); it is carried on into
the page's own links. Responses are not cached and tell the browser, through a
Content-Security-Policy, to load nothing but the app itself (and the basemap's tile host).
"""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from api import maps
from api.deps import JurisdictionQ, LangDep, PrincipalDep, SessionDep, SettingsDep
from dashboards import base, coverage, grids, index, town
from dashboards.i18n import t

router = APIRouter(tags=["dashboards"])

TokenQ = Annotated[str | None, Query(description="访问令牌（看板链接用）/ access token for dashboard links")]
LangQ = Annotated[str | None, Query(alias="lang", pattern=r"^[A-Za-z]{2}([-_][A-Za-z]{2,4})?$",
                                    description="界面语言 / page language: zh-CN (default) or en")]


def _html(page: str, basemap: base.Basemap = base.Basemap()) -> HTMLResponse:
    return HTMLResponse(page, headers={
        "Content-Security-Policy": base.content_security_policy(basemap),
        "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
        "X-Content-Type-Options": "nosniff"})


@router.get("/dashboards/", response_class=HTMLResponse, summary="看板目录 / Dashboards index")
def dashboards_index(session: SessionDep, principal: PrincipalDep, lang: LangDep,
                     token: TokenQ = None, _lang: LangQ = None):
    towns = maps.list_towns(session, principal)
    return _html(index.index_page(towns, lang=lang, token=token))


@router.get("/dashboards/town", response_class=HTMLResponse, summary="辖区总览 / Town overview map")
def town_overview(session: SessionDep, principal: PrincipalDep, settings: SettingsDep, lang: LangDep,
                  jurisdiction: JurisdictionQ = None, token: TokenQ = None, _lang: LangQ = None):
    data = maps.town_data(session, jurisdiction, principal, settings)
    basemap = base.Basemap.from_settings(settings)
    links = base.lang_links("/dashboards/town", lang, jurisdiction=data.code, token=token)
    return _html(base.render(town.town_map(data, lang=lang, basemap=basemap, links=links)), basemap)


@router.get("/dashboards/grids", response_class=HTMLResponse, summary="网格规划 / Planner's grid dashboard")
def grid_planning(session: SessionDep, principal: PrincipalDep, settings: SettingsDep, lang: LangDep,
                  jurisdiction: JurisdictionQ = None, token: TokenQ = None, _lang: LangQ = None):
    data = maps.grids_data(session, jurisdiction, principal, settings)
    basemap = base.Basemap.from_settings(settings)
    links = base.lang_links("/dashboards/grids", lang, jurisdiction=data.code, token=token) + [
        (t("town_page", lang), base.page_url("/dashboards/town", jurisdiction=data.code, lang=lang, token=token))]
    return _html(base.render(grids.grids_map(data, lang=lang, basemap=basemap, links=links)), basemap)


@router.get("/dashboards/coverage", response_class=HTMLResponse,
            summary="视频覆盖（仅公安、管理员）/ Camera coverage (police and admin)")
def camera_coverage(session: SessionDep, principal: PrincipalDep, settings: SettingsDep, lang: LangDep,
                    jurisdiction: JurisdictionQ = None, token: TokenQ = None, _lang: LangQ = None):
    data = maps.coverage_data(session, jurisdiction, principal, settings)
    basemap = base.Basemap.from_settings(settings)
    links = base.lang_links("/dashboards/coverage", lang, jurisdiction=data.code, token=token) + [
        (t("blindspots_page", lang),
         base.page_url("/dashboards/blindspots", jurisdiction=data.code, lang=lang, token=token))]
    return _html(base.render(coverage.coverage_map(data, lang=lang, basemap=basemap, links=links)), basemap)


@router.get("/dashboards/blindspots", response_class=HTMLResponse,
            summary="盲区盲点（仅公安、管理员）/ Blind spots (police and admin)")
def blind_spots(session: SessionDep, principal: PrincipalDep, settings: SettingsDep, lang: LangDep,
                jurisdiction: JurisdictionQ = None, token: TokenQ = None, _lang: LangQ = None):
    data = maps.blindspots_data(session, jurisdiction, principal, settings)
    basemap = base.Basemap.from_settings(settings)
    links = base.lang_links("/dashboards/blindspots", lang, jurisdiction=data.code, token=token) + [
        (t("coverage_page", lang),
         base.page_url("/dashboards/coverage", jurisdiction=data.code, lang=lang, token=token))]
    return _html(base.render(coverage.blindspots_map(data, lang=lang, basemap=basemap, links=links)), basemap)
