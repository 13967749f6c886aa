"""Enrolment codes: how a person gets their own credentials without an admin ever knowing one.

An admin issues a one-time code for a user (at creation, or later to reset); the user exchanges
it once, setting their own password (and PIN), and optionally takes an API key of their own.
The exchange is audited through the code itself. Only the code's SHA-256 is kept.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.people import EnrolmentCode
from models.users import ApiKey, User
from services.errors import Conflict, Unauthorized
from services.trust import audit, credentials, lockout
from services.trust.credentials import Credential
from services.trust.passwords import hash_password


async def issue(
    session: AsyncSession, actor: str, user: User, now: datetime, valid: timedelta
) -> tuple[EnrolmentCode, str]:
    """A new one-time code for `user` (shown once); an earlier unused one stops working."""
    if not user.active:
        raise Conflict(
            f"User '{user.username}' is deactivated; no enrolment code can be issued.",
            code="USER_INACTIVE",
        )
    await session.execute(
        update(EnrolmentCode)
        .where(
            col(EnrolmentCode.user_id) == user.id,
            col(EnrolmentCode.used_at).is_(None),
            col(EnrolmentCode.superseded_at).is_(None),
        )
        .values(superseded_at=now)
    )
    code = credentials.new_code()
    row = EnrolmentCode(
        user_id=user.id or 0,
        code_hash=credentials.code_digest(code),
        created_at=now,
        created_by=actor,
        expires_at=now + valid,
    )
    session.add(row)
    await session.flush()
    await audit.append(
        session,
        actor=actor,
        action="enrolment.issue",
        entity_type="user",
        entity_id=user.username,
        after={"enrolment": row.id, "expires_at": audit.format_at(row.expires_at)},
    )
    return row, code


@dataclass(frozen=True)
class Exchanged:
    user: User
    key: tuple[ApiKey, str] | None


async def exchange(
    session: AsyncSession,
    username: str,
    code: str,
    now: datetime,
    *,
    password: str,
    pin: str | None = None,
    want_key: bool = False,
) -> Exchanged:
    """Use a code, once: set the owner's password (and PIN), and issue their own key if asked.

    The code is taken by a conditional UPDATE, so two exchanges of one code cannot both win.
    """
    refused = Unauthorized(
        "The username or enrolment code is wrong, or the code was used, replaced or expired; "
        "ask an admin for a new one.",
        code="ENROLMENT_INVALID",
    )
    user = (
        await session.execute(
            select(User).where(col(User.username) == username, col(User.active).is_(True))
        )
    ).scalar_one_or_none()
    if user is None:
        raise refused
    taken = (
        await session.execute(
            update(EnrolmentCode)
            .where(
                col(EnrolmentCode.user_id) == user.id,
                col(EnrolmentCode.code_hash) == credentials.code_digest(code),
                col(EnrolmentCode.used_at).is_(None),
                col(EnrolmentCode.superseded_at).is_(None),
                col(EnrolmentCode.expires_at) > now,
            )
            .values(used_at=now)
            .returning(col(EnrolmentCode.id))
        )
    ).scalar_one_or_none()
    if taken is None:
        raise refused
    credentials.bind(session, Credential(kind="enrolment", enrolment_id=taken))
    async with audit.changing(
        session,
        lambda: lockout.public(user),
        actor=user.username,
        action="enrolment.exchange",
        entity_type="user",
        entity_id=user.username,
        reason="Own password set" + (" and PIN" if pin is not None else "") + " with a code.",
    ):
        user.password_hash = await hash_password(password)
        user.password_temporary = False
        user.failed_signatures = 0
        user.signing_locked = False
        if pin is not None:
            user.pin_hash = await hash_password(pin)
            user.failed_pins = 0
            user.pin_locked = False
    key = None
    if want_key:
        from services.trust import users

        key = await users.issue_own_key(session, user, now)
    return Exchanged(user=user, key=key)
