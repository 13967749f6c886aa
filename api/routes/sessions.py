"""Sign-in sessions: desk sign-in and sign-out, and an admin's view of who is signed in."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request, Response

from api import cookies
from api.deps import CallerDep, CurrentUser, NowDep, SessionDep, SettingsDep
from api.openapi import problems
from api.routes import open_router, secured_router
from models.common import Page
from models.people import SessionPublic, SignedIn, SignIn
from services.errors import Conflict
from services.trust import access, credentials, sessions, users

open_routes = open_router("sessions")
router = secured_router("sessions")
NOT_A_SESSION = problems({409: ["NOT_A_SESSION"]})
SessionId = Annotated[int, Path(ge=1, le=2**31 - 1)]


@open_routes.post(
    "/sessions",
    status_code=201,
    response_model=SignedIn,
    responses=problems({401: ["SIGN_IN_FAILED", "PASSWORD_LOCKED"], 403: ["USE_BADGE_AT_STATION"]}),
)
async def sign_in(
    body: SignIn,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> SignedIn:
    """Sign in at a desk with username and password: sets the HttpOnly session cookie. Send
    the answer's `csrf_token` as `X-CSRF-Token` on every POST and DELETE made with the cookie.
    Wrong passwords count towards the same five-failure lockout as signatures."""
    started = await sessions.sign_in(
        session,
        body.username,
        body.password,
        now,
        settings,
        station_token=request.cookies.get(access.STATION_COOKIE),
    )
    cookies.set_session(request, response, started.token, settings.session_max)
    return SignedIn(
        session=sessions.public(started.row, started.user.username, None, now),
        user=users.public(started.user),
        csrf_token=credentials.csrf_token(started.token),
    )


@router.get("/sessions/current", response_model=SessionPublic, responses=NOT_A_SESSION)
async def current(caller: CallerDep, session: SessionDep, now: NowDep) -> SessionPublic:
    """The session this request signs in with (not for API keys)."""
    row, owner, station = await sessions.get(session, _session_id(caller))
    return sessions.public(row, owner.username, station, now)


@router.delete(
    "/sessions/current", status_code=204, response_class=Response, responses=NOT_A_SESSION
)
async def sign_out(
    request: Request, caller: CallerDep, user: CurrentUser, session: SessionDep, now: NowDep
) -> Response:
    """Sign out: the session ends now and the cookie is cleared."""
    await sessions.end(session, user, _session_id(caller), now, as_admin=False)
    response = Response(status_code=204)
    cookies.clear_session(request, response)
    return response


@router.get("/sessions", response_model=Page[SessionPublic])
async def list_open(session: SessionDep, now: NowDep) -> Page[SessionPublic]:
    """Everyone signed in now, at desks and stations."""
    rows = await sessions.list_open(session, now)
    items = [sessions.public(row, name, station, now) for row, name, station in rows]
    return Page(items=items, total=len(items))


@router.delete("/sessions/{session_id}", status_code=204, response_class=Response)
async def end_any(
    session_id: SessionId, user: CurrentUser, session: SessionDep, now: NowDep
) -> None:
    """End anyone's session: it stops on its next request."""
    await sessions.end(session, user, session_id, now, as_admin=True)


def _session_id(caller: access.Caller) -> int:
    if caller.credential.session_id is None:
        raise Conflict(
            "This request uses an API key, not a sign-in session; revoke keys with "
            "DELETE /api/v1/me/keys/{key_id}.",
            code="NOT_A_SESSION",
        )
    return caller.credential.session_id
