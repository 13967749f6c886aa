"""The calling user: who am I, and my own password."""

from __future__ import annotations

from fastapi import Response

from api.deps import CurrentUser, SessionDep
from api.openapi import problems
from api.routes import secured_router
from models.users import Me, PasswordChange
from services.trust import users

router = secured_router("me")


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
