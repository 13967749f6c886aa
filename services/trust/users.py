"""Users, API keys, authentication and the secrets users set for themselves.

Admins create users and revoke credentials; they never hold one of somebody else's. A user
gets their password, PIN and keys through an enrolment code only they exchange
(services/trust/enrolment.py), or, once signed in, by proving their own password.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import bindparam, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.people import EnrolmentCode
from models.users import (
    ApiKey,
    KeyPublic,
    PasswordChange,
    PinSet,
    Role,
    User,
    UserCreate,
    UserPublic,
)
from services.errors import AlreadyExists, Conflict, Invalid, NotFound, Unauthorized
from services.trust import audit, credentials, enrolment
from services.trust.passwords import hash_password
from services.trust.signatures import check_password, user_public

SYSTEM = "system"


def key_hash(key: str) -> str:
    return credentials.digest(key)


def public(user: User) -> UserPublic:
    return user_public(user)


# Built once: every request runs it, and building SQL expressions costs more than the query.
_BY_KEY = (
    select(User, col(ApiKey.id))
    .join(ApiKey, col(ApiKey.user_id) == col(User.id))
    .where(
        col(ApiKey.key_hash) == bindparam("key_hash"),
        col(ApiKey.revoked_at).is_(None),
        col(User.active).is_(True),
    )
)


async def authenticate(session: AsyncSession, key: str | None) -> tuple[User, int]:
    """The active user holding this unrevoked key, and the key's id; or 401.

    Deliberately not cached. A key is 256 random bits stored as its SHA-256 (no slow hash to
    save), so the whole check is this one indexed statement, and the same statement is what
    refuses a revoked key, a deactivated user and reads a changed role. A cache could skip it
    only by trusting a copy; another worker cannot learn of a revocation without asking the
    database, which is this round trip again. So the next request after a revocation, on any
    worker, is refused."""
    if not key:
        raise Unauthorized(
            "Sign in, or send an API key as 'Authorization: Bearer <key>'.",
        )
    row = (await session.execute(_BY_KEY, {"key_hash": key_hash(key)})).one_or_none()
    if row is None:
        raise Unauthorized("The API key is unknown, revoked, or its user is deactivated.")
    return row[0], row[1] or 0


async def get_user(session: AsyncSession, username: str) -> User:
    user = (
        await session.execute(select(User).where(col(User.username) == username))
    ).scalar_one_or_none()
    if user is None:
        raise NotFound(f"User '{username}' does not exist.", code="USER_NOT_FOUND")
    return user


async def list_users(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[Sequence[User], int]:
    total = (await session.execute(select(func.count()).select_from(User))).scalar_one()
    rows = (
        (
            await session.execute(
                select(User).order_by(col(User.username)).limit(limit).offset(offset)
            )
        )
        .scalars()
        .all()
    )
    return rows, total


async def create_user(
    session: AsyncSession, actor: str, data: UserCreate, now: datetime, valid: timedelta
) -> tuple[User, EnrolmentCode, str]:
    """Create a user without any secret, and their one-time enrolment code (shown once)."""
    taken = (
        await session.execute(select(col(User.id)).where(col(User.username) == data.username))
    ).first()
    if taken:
        raise AlreadyExists(
            f"Username '{data.username}' is taken (usernames are never reused, even after "
            "deactivation)."
        )
    user = User(
        username=data.username,
        full_name=data.full_name,
        role=data.role,
        password_hash=None,
        password_temporary=True,
        created_at=now,
        created_by=actor,
    )
    session.add(user)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise AlreadyExists(f"Username '{data.username}' is taken.") from exc
    await audit.append(
        session,
        actor=actor,
        action="user.create",
        entity_type="user",
        entity_id=user.username,
        after=audit.snapshot(public(user)),
    )
    code_row, code = await enrolment.issue(session, actor, user, now, valid)
    return user, code_row, code


async def issue_own_key(session: AsyncSession, user: User, now: datetime) -> tuple[ApiKey, str]:
    """A 256-bit key for its owner, returned once; only its SHA-256 hash is kept.

    Callers have established that `user` is the one asking: they exchanged their enrolment
    code, or proved their password (`create_own_key`). The tests' and benchmarks' users get
    their keys here, as their owner, after the service has made them.
    """
    raw = credentials.new_secret()
    key = ApiKey(user_id=user.id or 0, key_hash=key_hash(raw), created_at=now)
    session.add(key)
    await session.flush()
    await audit.append(
        session,
        actor=user.username,
        action="key.create",
        entity_type="key",
        entity_id=str(key.id),
        after=_key_snapshot(key, user.username),
    )
    return key, raw


async def create_own_key(
    session: AsyncSession, user: User, password: str, now: datetime
) -> tuple[ApiKey, str]:
    """A key for yourself, after your own password (a wrong one counts towards the lockout)."""
    await check_password(session, user, password)
    return await issue_own_key(session, user, now)


async def list_keys(session: AsyncSession, user: User) -> list[KeyPublic]:
    """A user's keys: ids and dates, never a key or its hash."""
    rows = (
        (
            await session.execute(
                select(ApiKey).where(col(ApiKey.user_id) == user.id).order_by(col(ApiKey.id))
            )
        )
        .scalars()
        .all()
    )
    return [
        KeyPublic(
            id=k.id or 0, user=user.username, created_at=k.created_at, revoked_at=k.revoked_at
        )
        for k in rows
    ]


async def install_key(session: AsyncSession, actor: str, username: str, raw: str) -> ApiKey:
    """Store the hash of a known `raw` as a key of `username`: demo data only, whose keys are
    public anyway (scripts/seed_demo.py)."""
    user = await get_user(session, username)
    if not user.active:
        raise Conflict(
            f"User '{username}' is deactivated; no key can be issued.", code="USER_INACTIVE"
        )
    assert user.id is not None
    key = ApiKey(user_id=user.id, key_hash=key_hash(raw), created_at=utcnow())
    session.add(key)
    await session.flush()
    await audit.append(
        session,
        actor=actor,
        action="key.create",
        entity_type="key",
        entity_id=str(key.id),
        after=_key_snapshot(key, username),
    )
    return key


async def revoke_key(session: AsyncSession, actor: str, username: str, key_id: int) -> None:
    user = await get_user(session, username)
    key = (
        await session.execute(
            select(ApiKey).where(col(ApiKey.id) == key_id, col(ApiKey.user_id) == user.id)
        )
    ).scalar_one_or_none()
    if key is None:
        raise NotFound(f"User '{username}' has no key {key_id}.", code="KEY_NOT_FOUND")
    if key.revoked_at is not None:
        return
    async with audit.changing(
        session,
        lambda: _key_snapshot(key, username),
        actor=actor,
        action="key.revoke",
        entity_type="key",
        entity_id=str(key.id),
    ):
        key.revoked_at = utcnow()


async def deactivate(session: AsyncSession, actor: User, username: str) -> User:
    user = await get_user(session, username)
    if user.id == actor.id:
        raise Conflict("You cannot deactivate your own account.", code="CANNOT_DEACTIVATE_SELF")
    if not user.active:
        return user
    async with audit.changing(
        session,
        lambda: public(user),
        actor=actor.username,
        action="user.deactivate",
        entity_type="user",
        entity_id=user.username,
    ):
        user.active = False
    return user


async def unlock(session: AsyncSession, actor: str, username: str) -> User:
    """Unlock the password and the PIN after five failures, and forget the failures."""
    user = await get_user(session, username)
    if not (user.signing_locked or user.failed_signatures or user.pin_locked or user.failed_pins):
        return user
    async with audit.changing(
        session,
        lambda: public(user),
        actor=actor,
        action="user.unlock",
        entity_type="user",
        entity_id=user.username,
    ):
        user.signing_locked = False
        user.failed_signatures = 0
        user.pin_locked = False
        user.failed_pins = 0
    return user


async def change_own_password(session: AsyncSession, user: User, change: PasswordChange) -> None:
    """Set one's own password; it is no longer temporary and can sign from now on.

    The current password is checked like a signature: wrong ones count towards the lockout, so
    this endpoint cannot be used to guess a password that would then sign.
    """
    await check_password(session, user, change.current_password)
    if change.new_password == change.current_password:
        raise Invalid(
            "The new password must differ from the current one.", code="PASSWORD_UNCHANGED"
        )
    async with audit.changing(
        session,
        lambda: public(user),
        actor=user.username,
        action="user.password_change",
        entity_type="user",
        entity_id=user.username,
    ):
        user.password_hash = await hash_password(change.new_password)
        user.password_temporary = False


async def set_own_pin(session: AsyncSession, user: User, change: PinSet) -> None:
    """Set your own PIN, after your own password (a wrong one counts towards the lockout)."""
    await check_password(session, user, change.current_password)
    async with audit.changing(
        session,
        lambda: public(user),
        actor=user.username,
        action="user.pin_set",
        entity_type="user",
        entity_id=user.username,
    ):
        user.pin_hash = await hash_password(change.pin)
        user.failed_pins = 0
        user.pin_locked = False


async def bootstrap_admin(session: AsyncSession, key: str) -> bool:
    """Create user `admin` with `key` when no user exists yet. True when it did.

    Several workers start at once: the chain lock makes exactly one of them create it.
    """
    await audit.lock_chain(session)
    if (await session.execute(select(func.count()).select_from(User))).scalar_one():
        return False
    admin = User(
        username="admin",
        full_name="Administrator",
        role=Role.admin,
        password_hash=None,
        password_temporary=True,
        created_at=utcnow(),
        created_by=SYSTEM,
    )
    session.add(admin)
    await session.flush()
    await audit.append(
        session,
        actor=SYSTEM,
        action="user.create",
        entity_type="user",
        entity_id=admin.username,
        after=audit.snapshot(public(admin)),
        reason="Bootstrap administrator from BOOTSTRAP_ADMIN_KEY.",
    )
    api_key = ApiKey(user_id=admin.id, key_hash=key_hash(key), created_at=utcnow())  # type: ignore[arg-type]
    session.add(api_key)
    await session.flush()
    await audit.append(
        session,
        actor=SYSTEM,
        action="key.create",
        entity_type="key",
        entity_id=str(api_key.id),
        after=_key_snapshot(api_key, admin.username),
    )
    return True


def _key_snapshot(key: ApiKey, username: str) -> dict[str, object]:
    # Never the key, never its hash: the audit trail must not help anyone guess a key.
    return {
        "id": key.id,
        "user": username,
        "created_at": audit.format_at(key.created_at),
        "revoked_at": None if key.revoked_at is None else audit.format_at(key.revoked_at),
    }
