"""Users and keys (admin only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response

from api.deps import CurrentUser, PagingDep, SessionDep
from api.openapi import problems
from api.routes import secured_router
from models.common import Page
from models.users import KeyCreated, UserCreate, UserPublic
from services.trust import users

router = secured_router("users")
UsernamePath = Annotated[str, Path(max_length=64)]


@router.post(
    "/users",
    status_code=201,
    response_model=UserPublic,
    responses=problems({409: ["ALREADY_EXISTS"]}),
)
async def create_user(data: UserCreate, actor: CurrentUser, session: SessionDep) -> UserPublic:
    """Create a user with a temporary password: they must set their own before signing."""
    return users.public(await users.create_user(session, actor.username, data))


@router.get("/users", response_model=Page[UserPublic])
async def list_users(session: SessionDep, paging: PagingDep) -> Page[UserPublic]:
    rows, total = await users.list_users(session, limit=paging.limit, offset=paging.offset)
    return Page(items=[users.public(u) for u in rows], total=total)


@router.post(
    "/users/{username}/keys",
    status_code=201,
    response_model=KeyCreated,
    responses=problems({409: ["USER_INACTIVE"]}),
)
async def create_key(username: UsernamePath, actor: CurrentUser, session: SessionDep) -> KeyCreated:
    """Issue a key. It is shown once: store it now."""
    key, raw = await users.create_key(session, actor.username, username)
    assert key.id is not None
    return KeyCreated(id=key.id, key=raw)


@router.delete("/users/{username}/keys/{key_id}", status_code=204, response_class=Response)
async def revoke_key(
    username: UsernamePath,
    key_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    actor: CurrentUser,
    session: SessionDep,
) -> None:
    """Revoke a key: it stops working on the next request. The key record is kept."""
    await users.revoke_key(session, actor.username, username, key_id)


@router.post(
    "/users/{username}/deactivate",
    response_model=UserPublic,
    responses=problems({409: ["CANNOT_DEACTIVATE_SELF"]}),
)
async def deactivate(username: UsernamePath, actor: CurrentUser, session: SessionDep) -> UserPublic:
    """Deactivate a user: their keys stop working; the username is never reused."""
    return users.public(await users.deactivate(session, actor, username))


@router.post("/users/{username}/unlock", response_model=UserPublic)
async def unlock(username: UsernamePath, actor: CurrentUser, session: SessionDep) -> UserPublic:
    """Unlock signing after five failed signatures."""
    return users.public(await users.unlock(session, actor.username, username))
