"""Users, their enrolment, keys and badges (admin only). Admins provision and revoke; they
never receive a credential of someone else's."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response

from api.deps import CurrentUser, NowDep, PagingDep, SessionDep, SettingsDep
from api.openapi import problems
from api.routes import secured_router
from models.common import Page
from models.people import BadgeCreate, BadgePublic, BadgeRevoke, EnrolmentIssued, UserCreated
from models.users import KeyPublic, UserCreate, UserPublic
from services.trust import badges, enrolment, users

router = secured_router("users")
UsernamePath = Annotated[str, Path(max_length=64)]
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


@router.post(
    "/users",
    status_code=201,
    response_model=UserCreated,
    responses=problems({409: ["ALREADY_EXISTS"]}),
)
async def create_user(
    data: UserCreate, actor: CurrentUser, session: SessionDep, settings: SettingsDep, now: NowDep
) -> UserCreated:
    """Create a user without any secret; give them the answer's one-time enrolment code, which
    they exchange at POST /api/v1/enrolment to set their own password (and PIN, and a key)."""
    user, row, code = await users.create_user(
        session, actor.username, data, now, settings.enrolment_valid
    )
    return UserCreated(
        **users.public(user).model_dump(),
        enrolment=EnrolmentIssued(code=code, expires_at=row.expires_at),
    )


@router.get("/users", response_model=Page[UserPublic])
async def list_users(session: SessionDep, paging: PagingDep) -> Page[UserPublic]:
    rows, total = await users.list_users(session, limit=paging.limit, offset=paging.offset)
    return Page(items=[users.public(u) for u in rows], total=total)


@router.post(
    "/users/{username}/enrolment",
    status_code=201,
    response_model=EnrolmentIssued,
    responses=problems({409: ["USER_INACTIVE"]}),
)
async def issue_enrolment(
    username: UsernamePath,
    actor: CurrentUser,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> EnrolmentIssued:
    """A new one-time enrolment code (a forgotten password or PIN): earlier unused codes stop.
    The user's current password and keys keep working until they exchange it."""
    user = await users.get_user(session, username)
    row, code = await enrolment.issue(session, actor.username, user, now, settings.enrolment_valid)
    return EnrolmentIssued(code=code, expires_at=row.expires_at)


@router.get("/users/{username}/keys", response_model=Page[KeyPublic])
async def list_keys(username: UsernamePath, session: SessionDep) -> Page[KeyPublic]:
    """A user's keys: ids and dates, never a key."""
    keys = await users.list_keys(session, await users.get_user(session, username))
    return Page(items=keys, total=len(keys))


@router.delete("/users/{username}/keys/{key_id}", status_code=204, response_class=Response)
async def revoke_key(
    username: UsernamePath, key_id: Id, actor: CurrentUser, session: SessionDep
) -> None:
    """Revoke a key: it stops working on the next request. The key record is kept."""
    await users.revoke_key(session, actor.username, username, key_id)


@router.post(
    "/users/{username}/deactivate",
    response_model=UserPublic,
    responses=problems({409: ["CANNOT_DEACTIVATE_SELF"]}),
)
async def deactivate(username: UsernamePath, actor: CurrentUser, session: SessionDep) -> UserPublic:
    """Deactivate a user: their keys and sessions stop working; the username is never reused."""
    return users.public(await users.deactivate(session, actor, username))


@router.post("/users/{username}/unlock", response_model=UserPublic)
async def unlock(username: UsernamePath, actor: CurrentUser, session: SessionDep) -> UserPublic:
    """Unlock the password and the PIN after five failures."""
    return users.public(await users.unlock(session, actor.username, username))


@router.post(
    "/users/{username}/badges",
    status_code=201,
    response_model=BadgePublic,
    responses=problems({409: ["USER_INACTIVE", "BADGE_TAKEN"]}),
)
async def register_badge(
    username: UsernamePath, body: BadgeCreate, actor: CurrentUser, session: SessionDep, now: NowDep
) -> BadgePublic:
    """Register a badge (what the reader types) to a user; only its last four characters are
    ever shown again."""
    user = await users.get_user(session, username)
    badge = await badges.register(session, actor.username, user, body.badge, now)
    return badges.badge_public(badge, user.username)


@router.get("/users/{username}/badges", response_model=Page[BadgePublic])
async def list_badges(username: UsernamePath, session: SessionDep) -> Page[BadgePublic]:
    user = await users.get_user(session, username)
    rows = [badges.badge_public(b, user.username) for b in await badges.list_for(session, user)]
    return Page(items=rows, total=len(rows))


@router.post("/badges/{badge_id}/revoke", response_model=BadgePublic)
async def revoke_badge(
    badge_id: Id, body: BadgeRevoke, actor: CurrentUser, session: SessionDep, now: NowDep
) -> BadgePublic:
    """Revoke a badge (reported lost): it stops at once, with any session signed in with it;
    every later use is refused and recorded."""
    badge, user = await badges.revoke(session, actor.username, badge_id, body.reason, now)
    return badges.badge_public(badge, user.username)
