"""Is this credential still valid? The one answer for every request and every open stream.

A request presents exactly one kind of credential: an API key in `Authorization: Bearer`
(machine clients), or a session cookie (people in browsers, at desks or at stations). When an
Authorization header is present, only it is considered: a key is never read from a cookie and a
session token is never accepted as a key. Streams re-check their caller through the same
function, so a revoked key, an ended session or a disabled station stops them too.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from models.people import Station
from models.users import User
from services.config import Settings
from services.errors import Unauthorized
from services.trust import sessions, users
from services.trust.credentials import Credential

SESSION_COOKIE = "sutrace_session"
STATION_COOKIE = "sutrace_station"


@dataclass(frozen=True)
class Presented:
    """What a request carried: the Authorization header's bearer value (None when it had no
    such header), and the two cookies."""

    authorization: str | None
    session_cookie: str | None
    station_cookie: str | None


@dataclass(frozen=True)
class Caller:
    user: User
    credential: Credential
    station: Station | None
    # The cookie secret the request's CSRF token derives from; None for API keys, which a
    # browser never sends by itself.
    csrf_secret: str | None


async def authenticate(
    session: AsyncSession,
    presented: Presented,
    now: datetime,
    settings: Settings,
    *,
    touch: bool = True,
) -> Caller:
    """The caller, or 401 saying what to do. `touch` moves a session's idle deadline: a
    request is activity, a stream's periodic re-check is not (pass touch=False)."""
    if presented.authorization is not None:
        scheme, _, key = presented.authorization.partition(" ")
        if scheme.lower() != "bearer" or not key.strip():
            raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'.")
        user, key_id = await users.authenticate(session, key.strip())
        return Caller(user, Credential(kind="key", key_id=key_id), None, None)
    if presented.session_cookie:
        current = await sessions.authenticate(
            session,
            presented.session_cookie,
            presented.station_cookie,
            now,
            settings,
            touch=touch,
        )
        secret = (
            presented.station_cookie if current.station is not None else presented.session_cookie
        )
        return Caller(current.user, current.credential, current.station, secret)
    raise Unauthorized(
        "Sign in (POST /api/v1/sessions, or badge and PIN at a station), or send an API key "
        "as 'Authorization: Bearer <key>'."
    )
