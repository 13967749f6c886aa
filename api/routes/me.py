"""The calling user: who am I, my own password, PIN, keys and sessions."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response

from api.deps import CurrentUser, NowDep, SessionDep
from api.openapi import problems
from api.routes import secured_router
from models.common import Page
from models.people import SessionPublic
from models.users import KeyCreated, KeyPublic, KeyRequest, Me, PasswordChange, PinSet
from services.trust import sessions, users

router = secured_router("me")
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.get("/me", response_model=Me)
async def whoami(user: CurrentUser) -> Me:
    return Me(username=user.username, full_name=user.full_name, role=user.role)


@router.post(
    "/me/password",
    status_code=204,
    response_class=Response,
    responses=problems({403: ["SIGNATURE_INVALID", "SIGNING_LOCKED"], 422: ["PASSWORD_UNCHANGED"]}),
)
async def change_password(change: PasswordChange, user: CurrentUser, session: SessionDep) -> None:
    """Set your own password (12+ characters); only your own password can sign."""
    await users.change_own_password(session, user, change)


@router.post(
    "/me/pin",
    status_code=204,
    response_class=Response,
    responses=problems({403: ["SIGNATURE_INVALID", "SIGNING_LOCKED"]}),
)
async def set_pin(change: PinSet, user: CurrentUser, session: SessionDep) -> None:
    """Set your own PIN (4-12 digits), proving your password: with your badge it signs you in,
    and signs, at a station."""
    await users.set_own_pin(session, user, change)


@router.get("/me/keys", response_model=Page[KeyPublic])
async def my_keys(user: CurrentUser, session: SessionDep) -> Page[KeyPublic]:
    keys = await users.list_keys(session, user)
    return Page(items=keys, total=len(keys))


@router.post(
    "/me/keys",
    status_code=201,
    response_model=KeyCreated,
    responses=problems({403: ["SIGNATURE_INVALID", "SIGNING_LOCKED"]}),
)
async def new_key(
    body: KeyRequest, user: CurrentUser, session: SessionDep, now: NowDep
) -> KeyCreated:
    """An API key of your own for a machine client, after your password. Shown once."""
    key, raw = await users.create_own_key(session, user, body.password, now)
    return KeyCreated(id=key.id or 0, key=raw)


@router.delete("/me/keys/{key_id}", status_code=204, response_class=Response)
async def revoke_key(key_id: Id, user: CurrentUser, session: SessionDep) -> None:
    await users.revoke_key(session, user.username, user.username, key_id)


@router.get("/me/sessions", response_model=Page[SessionPublic])
async def my_sessions(user: CurrentUser, session: SessionDep, now: NowDep) -> Page[SessionPublic]:
    """Where you are signed in now."""
    rows = await sessions.list_open(session, now, user)
    items = [sessions.public(row, name, station, now) for row, name, station in rows]
    return Page(items=items, total=len(items))


@router.delete("/me/sessions/{session_id}", status_code=204, response_class=Response)
async def end_session(session_id: Id, user: CurrentUser, session: SessionDep, now: NowDep) -> None:
    """End one of your sessions (a browser left signed in elsewhere): it stops at once."""
    await sessions.end(session, user, session_id, now, as_admin=False)
