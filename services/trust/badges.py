"""Badges and PINs: the two identification components of a person at a shared station.

An admin registers a badge id (what the reader types) to a user; only its SHA-256 and its last
four characters are kept. A badge reported lost is revoked at once: sessions signed in with it
end, and every later use is refused and recorded. Each user sets their own PIN (argon2); five
wrong PINs in a row lock it until an admin unlocks.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.people import Badge, BadgePublic, UserSession
from models.users import User
from services import db
from services.errors import AlreadyExists, Conflict, Forbidden, NotFound, Unauthorized
from services.trust import audit, credentials, lockout
from services.trust.lockout import MAX_FAILURES


def badge_digest(badge: str) -> str:
    return credentials.digest("badge:" + badge.strip())


def badge_public(badge: Badge, username: str) -> BadgePublic:
    return BadgePublic(
        id=badge.id or 0,
        user=username,
        label=badge.label,
        created_at=badge.created_at,
        created_by=badge.created_by,
        revoked_at=badge.revoked_at,
        revoked_by=badge.revoked_by,
        revoke_reason=badge.revoke_reason,
    )


async def register(
    session: AsyncSession, actor: str, user: User, badge: str, now: datetime
) -> Badge:
    """Register a badge to `user`. A badge id is never registered twice, even once revoked."""
    if not user.active:
        raise Conflict(
            f"User '{user.username}' is deactivated; no badge can be registered.",
            code="USER_INACTIVE",
        )
    text = badge.strip()
    row = Badge(
        user_id=user.id or 0,
        badge_hash=badge_digest(text),
        label="…" + text[-4:],
        created_at=now,
        created_by=actor,
    )
    session.add(row)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise AlreadyExists(
            "That badge is already registered (a revoked badge is never registered again); "
            "issue a new badge.",
            code="BADGE_TAKEN",
        ) from exc
    await audit.append(
        session,
        actor=actor,
        action="badge.register",
        entity_type="badge",
        entity_id=row.id or 0,
        after=audit.snapshot(badge_public(row, user.username)),
    )
    return row


async def list_for(session: AsyncSession, user: User) -> Sequence[Badge]:
    return (
        (
            await session.execute(
                select(Badge).where(col(Badge.user_id) == user.id).order_by(col(Badge.id))
            )
        )
        .scalars()
        .all()
    )


async def get(session: AsyncSession, badge_id: int) -> tuple[Badge, User]:
    row = (
        await session.execute(
            select(Badge, User)
            .join(User, col(User.id) == col(Badge.user_id))
            .where(col(Badge.id) == badge_id)
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"Badge {badge_id} does not exist.", code="BADGE_NOT_FOUND")
    return row[0], row[1]


async def revoke(
    session: AsyncSession, actor: str, badge_id: int, reason: str, now: datetime
) -> tuple[Badge, User]:
    """Revoke a badge (lost, damaged, returned): it stops at once, and so does any session
    signed in with it."""
    badge, user = await get(session, badge_id)
    if badge.revoked_at is not None:
        return badge, user
    async with audit.changing(
        session,
        lambda: badge_public(badge, user.username),
        actor=actor,
        action="badge.revoke",
        entity_type="badge",
        entity_id=badge_id,
        reason=reason,
    ):
        badge.revoked_at = now
        badge.revoked_by = actor
        badge.revoke_reason = reason
    ended = (
        (
            await session.execute(
                update(UserSession)
                .where(col(UserSession.badge_id) == badge_id, col(UserSession.ended_at).is_(None))
                .values(ended_at=now, end_reason="badge_revoked", ended_by=actor)
                .returning(col(UserSession.id))
            )
        )
        .scalars()
        .all()
    )
    for session_id in ended:
        await audit.append(
            session,
            actor=actor,
            action="session.end",
            entity_type="session",
            entity_id=session_id or 0,
            after={"end_reason": "badge_revoked", "badge": badge_id},
        )
    return badge, user


async def find(session: AsyncSession, badge: str) -> tuple[Badge, User] | None:
    row = (
        await session.execute(
            select(Badge, User)
            .join(User, col(User.id) == col(Badge.user_id))
            .where(col(Badge.badge_hash) == badge_digest(badge))
        )
    ).one_or_none()
    return None if row is None else (row[0], row[1])


async def identify(
    session: AsyncSession, badge: str, *, signing: bool = False
) -> tuple[Badge, User]:
    """The unrevoked badge and its active user; an unknown or revoked badge is refused and its
    use recorded apart (committed, though the request is refused): 401 at sign-in, 403 signing."""
    error = Forbidden if signing else Unauthorized
    station = credentials.station_of(session) or "no station"
    found = await find(session, badge)
    if found is None:
        async with db.apart(session) as own:
            await audit.append(
                own,
                actor=None,
                action="badge.unknown",
                entity_type="station",
                entity_id=station,
                reason=f"An unregistered badge ending '{badge.strip()[-4:]}' was presented.",
            )
        raise error(
            "This badge is not registered; ask an admin to register it.", code="BADGE_UNKNOWN"
        )
    row, user = found
    if row.revoked_at is not None:
        username, badge_id, label = user.username, row.id or 0, row.label
        revoked_on = audit.format_at(row.revoked_at)[:10]
        async with db.apart(session) as own:
            await audit.append(
                own,
                actor=username,
                action="badge.refused",
                entity_type="badge",
                entity_id=badge_id,
                reason=f"Use of a revoked badge at {station}.",
            )
        raise error(
            f"This badge ({label}) was revoked on {revoked_on}; the attempt was recorded. Ask "
            "an admin for a new badge.",
            code="BADGE_REVOKED",
        )
    if not user.active:
        raise error(
            f"User '{user.username}' is deactivated; their badge cannot sign in.",
            code="USER_INACTIVE",
        )
    return row, user


async def check_pin(session: AsyncSession, user: User, pin: str, *, signing: bool) -> None:
    """Check the user's own PIN; a wrong one counts towards the PIN lockout."""
    error = Forbidden if signing else Unauthorized
    if user.pin_hash is None:
        raise error(
            f"User '{user.username}' has no PIN yet; set one with POST /api/v1/me/pin.",
            code="PIN_NOT_SET",
        )
    if user.pin_locked:
        raise error(_locked(user), code="PIN_LOCKED")
    refusal = await lockout.check(
        session,
        user,
        lockout.PIN,
        pin,
        action="pin",
        where=f" at {credentials.station_of(session) or 'no station'}",
    )
    if refusal is None:
        return
    if refusal.was_locked:
        raise error(_locked(user), code="PIN_LOCKED")
    detail = "The PIN does not match; the attempt was refused and recorded."
    if refusal.locked:
        detail += f" The PIN is now locked after {MAX_FAILURES} failures; ask an admin."
    raise error(detail, code="SIGNATURE_INVALID" if signing else "PIN_INVALID")


async def check_badge_and_pin(session: AsyncSession, user: User, badge: str, pin: str) -> Badge:
    """A signature at a station: the signer's own unrevoked badge, then their PIN."""
    row, owner = await identify(session, badge, signing=True)
    if owner.id != user.id:
        raise Forbidden(
            "This badge is not yours: a signature is your own badge and PIN.",
            code="SIGNATURE_INVALID",
        )
    await check_pin(session, user, pin, signing=True)
    return row


def _locked(user: User) -> str:
    return (
        f"The PIN of '{user.username}' is locked after {MAX_FAILURES} wrong PINs; an admin "
        "must unlock it."
    )
