"""The two cookies a browser holds: a person's sign-in session, and a station's credential.

Both are HttpOnly (no script reads them) and SameSite=Strict (no other site's page sends them),
Secure when the request came over HTTPS or COOKIE_SECURE says so, and scoped to the whole app so
that the pages (issue 15) and the API share them.
"""

from __future__ import annotations

from datetime import timedelta

from fastapi import Request, Response

from services.config import Settings
from services.trust.access import SESSION_COOKIE, STATION_COOKIE

STATION_COOKIE_LIFETIME = timedelta(days=400)  # the longest browsers keep a cookie


def _secure(request: Request) -> bool:
    settings: Settings = request.app.state.settings
    if settings.cookie_secure is not None:
        return settings.cookie_secure
    return request.url.scheme == "https"


def set_session(request: Request, response: Response, token: str, lifetime: timedelta) -> None:
    response.set_cookie(
        SESSION_COOKIE,
        token,
        max_age=int(lifetime.total_seconds()),
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )


def clear_session(request: Request, response: Response) -> None:
    response.delete_cookie(
        SESSION_COOKIE, path="/", secure=_secure(request), httponly=True, samesite="strict"
    )


def set_station(request: Request, response: Response, token: str) -> None:
    response.set_cookie(
        STATION_COOKIE,
        token,
        max_age=int(STATION_COOKIE_LIFETIME.total_seconds()),
        path="/",
        secure=_secure(request),
        httponly=True,
        samesite="strict",
    )
