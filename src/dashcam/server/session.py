"""Dashboard sign-in: a signed session cookie instead of the API key in the page.

The key is given once (the sign-in dialog, or ``/?key=...`` which redirects to the clean
URL); the server answers with a cookie holding ``v1.<issued epoch s>.<HMAC-SHA256>``,
signed with the API key itself, so changing ``DASHCAM_API_KEY`` ends every session. The
cookie is ``HttpOnly`` (page scripts cannot read it), ``SameSite=Strict`` (other sites'
pages cannot send it), ``Secure`` when the page came over HTTPS or from a loopback
address, and lasts :data:`MAX_AGE_S`. Signing out clears it in that browser.

Requests that change something (not GET/HEAD) and rely on the cookie must also carry
``X-Requested-With: dashcam``, which a page of another site cannot add without the
server's consent (no CORS here): a second guard against cross-site requests.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "dashcam_session"
MAX_AGE_S = 30 * 24 * 3600
CSRF_HEADER = "x-requested-with"
CSRF_VALUE = "dashcam"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def _sign(key: str, issued_s: int) -> str:
    msg = f"dashcam-session:{issued_s}".encode()
    return hmac.new(key.encode(), msg, hashlib.sha256).hexdigest()


def make_token(key: str, now_s: float) -> str:
    """A session token issued at ``now_s`` (epoch seconds) for API key ``key``."""
    issued = int(now_s)
    return f"v1.{issued}.{_sign(key, issued)}"


def token_ok(token: str | None, key: str, now_s: float, *, max_age_s: float = MAX_AGE_S) -> bool:
    """True for a token signed with ``key`` that is at most ``max_age_s`` old.

    >>> token_ok(make_token("k", 1000.0), "k", 2000.0), token_ok(make_token("k", 0.0), "x", 1.0)
    (True, False)
    """
    if not token:
        return False
    version, _, rest = token.partition(".")
    issued_text, _, sig = rest.partition(".")
    if version != "v1" or not issued_text.isdigit():
        return False
    issued = int(issued_text)
    if not 0 <= now_s - issued <= max_age_s:
        return False
    return hmac.compare_digest(sig, _sign(key, issued))


def _secure(request: Request) -> bool:
    if request.url.scheme == "https":
        return True
    host = request.url.hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def sign_in(response: Response, request: Request, key: str, now_s: float) -> None:
    """Set the session cookie on ``response``."""
    response.set_cookie(
        COOKIE,
        make_token(key, now_s),
        max_age=MAX_AGE_S,
        path="/",
        httponly=True,
        samesite="strict",
        secure=_secure(request),
    )


def sign_out(response: Response, request: Request) -> None:
    """Clear the session cookie (same attributes, so the browser drops it)."""
    response.delete_cookie(
        COOKIE, path="/", httponly=True, samesite="strict", secure=_secure(request)
    )


def signed_in(request: Request, key: str, now_s: float) -> bool:
    return token_ok(request.cookies.get(COOKIE), key, now_s)


def cross_site_safe(request: Request) -> bool:
    """A request that may use the cookie: a read, or a change the page itself sent."""
    if request.method in SAFE_METHODS:
        return True
    return request.headers.get(CSRF_HEADER, "").lower() == CSRF_VALUE
