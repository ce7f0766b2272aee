"""Dashboard sign-in over real sockets: ``/?key=`` and ``/api/session`` set a signed,
HttpOnly, SameSite cookie; the cookie opens the data endpoints; sign-out clears it."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx
import pytest
from dashboard_server import KEY, Served

from dashcam.server.session import COOKIE, MAX_AGE_S, make_token, token_ok


def _cookie_attrs(r: httpx.Response) -> dict[str, str]:
    (header,) = [v for k, v in r.headers.multi_items() if k == "set-cookie"]
    name_value, *attrs = [part.strip() for part in header.split(";")]
    out = {"": name_value}
    for a in attrs:
        k, _, v = a.partition("=")
        out[k.lower()] = v
    return out


def _keep(browser: httpx.Client, r: httpx.Response) -> None:
    # httpx (like a browser on a LAN address) does not send a Secure cookie back over
    # plain HTTP; Chromium does on loopback (see the browser test). Carry it by hand.
    browser.cookies.set(COOKIE, r.cookies[COOKIE])


def test_key_in_the_url_signs_in_once_and_redirects_to_the_clean_url(
    serve: Callable[..., Served],
) -> None:
    s = serve()
    r = httpx.get(s.url + f"/?key={KEY}&view=kiosk", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/?view=kiosk"
    assert r.headers["cache-control"] == "no-store"
    attrs = _cookie_attrs(r)
    assert attrs[""].startswith(f"{COOKIE}=v1.") and KEY not in attrs[""]
    assert "httponly" in attrs and attrs["samesite"].lower() == "strict"
    assert "secure" in attrs  # a loopback address counts as a secure origin
    assert attrs["path"] == "/" and int(attrs["max-age"]) == MAX_AGE_S
    with httpx.Client(base_url=s.url) as browser:
        _keep(browser, r)
        assert browser.get("/videos").status_code == 200
        assert browser.get("/api/session").json() == {"key_required": True, "signed_in": True}


def test_a_wrong_key_in_the_url_redirects_without_signing_in(serve: Callable[..., Served]) -> None:
    s = serve()
    r = httpx.get(s.url + "/?key=wrong", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert "set-cookie" not in r.headers


def test_sign_in_sign_out_and_what_the_cookie_opens(serve: Callable[..., Served]) -> None:
    s = serve()
    with httpx.Client(base_url=s.url) as browser:
        assert browser.get("/api/session").json() == {"key_required": True, "signed_in": False}
        assert browser.get("/videos").status_code == 401
        assert browser.post("/api/session", json={"key": "wrong"}).status_code == 401
        signed = browser.post("/api/session", json={"key": KEY})
        assert signed.status_code == 204
        _keep(browser, signed)
        assert browser.get("/videos").status_code == 200
        assert browser.get("/api/config").status_code == 200
        # A change needs the page's header too: another site's form cannot add it.
        watch = {"plate": "AB12CDE"}
        assert browser.post("/api/watchlist", json=watch).status_code == 403
        ok = browser.post("/api/watchlist", json=watch, headers={"X-Requested-With": "dashcam"})
        assert ok.status_code == 200, ok.text
        out = browser.delete("/api/session")
        assert out.status_code == 204 and "max-age=0" in out.headers["set-cookie"].lower()
        browser.cookies.clear()  # what a browser does with a cookie of max-age 0
        assert browser.get("/videos").status_code == 401
        assert browser.get("/api/session").json()["signed_in"] is False


@pytest.mark.parametrize(
    ("token", "ok"),
    [
        (make_token(KEY, time.time()), True),
        (make_token(KEY, time.time() - MAX_AGE_S - 60), False),  # expired
        (make_token("another-key", time.time()), False),  # signed with another key
        (make_token(KEY, time.time()).replace("v1.", "v2."), False),
        ("v1.x.y", False),
    ],
)
def test_only_a_fresh_token_signed_with_the_key_opens_the_api(
    serve: Callable[..., Served], token: str, ok: bool
) -> None:
    s = serve()
    r = httpx.get(s.url + "/videos", cookies={COOKIE: token})
    assert r.status_code == (200 if ok else 401)
    assert token_ok(token, KEY, time.time()) is ok


def test_without_an_api_key_nothing_needs_signing_in(serve: Callable[..., Served]) -> None:
    s = serve(api_key=None)
    assert httpx.get(s.url + "/api/session").json() == {"key_required": False, "signed_in": True}
    assert httpx.get(s.url + "/videos").status_code == 200
