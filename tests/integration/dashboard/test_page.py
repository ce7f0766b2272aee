"""The page shell and assets: served without a key, no external URL anywhere."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
import pytest
from dashboard_server import Served

from dashcam.server.dashboard import STATIC_DIR


def test_shell_and_assets_need_no_key(serve: Callable[..., Served]) -> None:
    s = serve()
    page = httpx.get(s.url + "/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    for src in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        r = httpx.get(s.url + src)
        assert r.status_code == 200 and r.content, src
    assert httpx.get(s.url + "/static/app.js").headers["content-type"].startswith("text/javascript")
    assert httpx.get(s.url + "/api/config").status_code == 401


@pytest.mark.parametrize("name", ["..%2Fdashboard.py", "nope.js", "index.html", ".hidden.js"])
def test_only_listed_assets_are_served(serve: Callable[..., Served], name: str) -> None:
    assert httpx.get(serve().url + "/static/" + name).status_code == 404


def test_no_external_urls_in_the_page() -> None:
    allowed = {"http://www.w3.org/2000/svg"}  # an XML namespace, never fetched
    for f in STATIC_DIR.iterdir():
        urls = set(re.findall(r"(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}[^\s\"'`)]*", f.read_text()))
        assert urls <= allowed, (f.name, urls - allowed)


def test_tile_layer_only_when_configured(serve: Callable[..., Served]) -> None:
    assert serve().client.get("/api/config").json()["map_tile_url"] is None
    tiles = "http://tiles.lan/{z}/{x}/{y}.png"
    assert serve(map_tile_url=tiles).client.get("/api/config").json()["map_tile_url"] == tiles
