"""Five wrong answers in a row lock a secret (the password, or the PIN) until an admin unlocks.

Each attempt is reserved before the secret is verified: a conditional UPDATE counts it as a
failure only while the secret is not locked, and a correct answer then resets the count. On
PostgreSQL the reservation is committed in a short transaction of its own (`db.apart`) before
argon2 runs, so a burst of simultaneous guesses queues on the user's row for a moment, not for
whole requests, and gets at most five verifications: the database decides, under the row lock
the UPDATE takes, not a check in Python on a row read earlier. On SQLite the unit of work's
transaction already excludes every other writer, so the reservation is made inside it.

A wrong answer's record (the count, the `<action>.fail` or `.lockout` audit event) is written
apart from the unit of work and committed; the caller then raises its refusal as any other
error, and the unit of work, with whatever else it wrote, is rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute
from sqlmodel import col

from models.users import User, UserPublic
from services import db
from services.trust import audit
from services.trust.passwords import verify_password

MAX_FAILURES = 5


@dataclass(frozen=True)
class Secret:
    name: str
    failures: InstrumentedAttribute[int]
    locked: InstrumentedAttribute[bool]


PASSWORD = Secret("password", User.failed_signatures, User.signing_locked)  # type: ignore[arg-type]
PIN = Secret("PIN", User.failed_pins, User.pin_locked)  # type: ignore[arg-type]


@dataclass(frozen=True)
class Attempt:
    """A reserved attempt: the count it will stand at if the answer is wrong."""

    failures: int
    locks: bool


def _count(user_id: int | None, secret: Secret) -> Any:
    return (
        update(User)
        .where(col(User.id) == user_id, col(secret.locked).is_(False))
        .values(
            {
                secret.failures: col(secret.failures) + 1,
                secret.locked: (col(secret.failures) + 1) >= MAX_FAILURES,
            }
        )
        .returning(col(secret.failures), col(secret.locked))
    )


async def reserve(session: AsyncSession, user: User, secret: Secret) -> Attempt | None:
    """Count this attempt before verifying; None when the secret is locked."""
    if db.serialised(session):
        row = (await session.execute(_count(user.id, secret))).one_or_none()
    else:
        async with db.apart(session) as own:
            row = (await own.execute(_count(user.id, secret))).one_or_none()
    await session.refresh(user)
    return None if row is None else Attempt(failures=int(row[0]), locks=bool(row[1]))


async def succeeded(session: AsyncSession, user: User, secret: Secret) -> None:
    """The answer was right: the reserved attempt and the earlier failures are forgotten."""
    reset = (
        update(User)
        .where(col(User.id) == user.id)
        .values({secret.failures: 0, secret.locked: False})
    )
    if db.serialised(session):
        await session.execute(reset)
    else:
        async with db.apart(session) as own:
            await own.execute(reset)
    await session.refresh(user)


def public(user: User) -> UserPublic:
    """A user as the API and the audit trail show them."""
    shown = UserPublic.model_validate(user, from_attributes=True)
    shown.has_pin = user.pin_hash is not None
    return shown


@dataclass(frozen=True)
class Refusal:
    """A wrong or locked answer, already recorded: `failures` in a row, `locked` now."""

    locked: bool
    failures: int
    was_locked: bool


async def check(
    session: AsyncSession,
    user: User,
    secret: Secret,
    answer: str,
    *,
    action: str,
    where: str = "",
) -> Refusal | None:
    """Verify `answer` against the user's password or PIN; None when right.

    A wrong answer is recorded in the audit trail as `<action>.fail` (the fifth as
    `<action>.lockout`), with the count, in a transaction apart from the unit of work; the
    caller raises its refusal, and the unit of work rolls back.
    """
    before = audit.snapshot(public(user))
    attempt = await reserve(session, user, secret)
    if attempt is None:
        return Refusal(locked=True, failures=MAX_FAILURES, was_locked=True)
    stored = user.password_hash if secret is PASSWORD else user.pin_hash
    if await verify_password(stored, answer):
        await succeeded(session, user, secret)
        return None
    user_id, username = user.id, user.username
    after = audit.snapshot(public(user))
    async with db.apart(session) as own:
        if db.serialised(session):
            # The reservation went with the unit of work's writes: count it again, under the
            # same write lock, so no other attempt came between.
            await own.execute(_count(user_id, secret))
        await audit.append(
            own,
            actor=username,
            action=f"{action}.lockout" if attempt.locks else f"{action}.fail",
            entity_type="user",
            entity_id=username,
            before=before,
            after=after,
            reason=f"Wrong {secret.name} ({attempt.failures} in a row){where}.",
        )
    return Refusal(locked=attempt.locks, failures=attempt.failures, was_locked=False)
