"""Sign-in sessions: a person at a desk (username + password) or at a station (badge + PIN).

A session is a 256-bit token the browser keeps in an HttpOnly cookie and the service keeps as
its SHA-256, with an idle deadline and an absolute end. Every request moves the idle deadline
in the same conditional UPDATE that checks it, so "still valid" is decided by the database.
At a station one person is signed in at a time: a new sign-in ends the previous one, and a
partial unique index refuses a second open session for the station.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, case, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.people import SessionPublic, SignInMethod, Station, UserSession
from models.users import User
from services import db
from services.config import Settings
from services.errors import Conflict, Forbidden, NotFound, Unauthorized
from services.trust import audit, badges, credentials, lockout, stations
from services.trust.credentials import Credential
from services.trust.passwords import hash_password, verify_password

# An argon2 hash of a random secret: an unknown username costs as long as a known one.
_dummy_hash: list[str] = []


async def _waste_time_like_a_check(password: str) -> None:
    if not _dummy_hash:
        _dummy_hash.append(await hash_password(credentials.new_secret()))
    await verify_password(_dummy_hash[0], password)


@dataclass(frozen=True)
class Started:
    row: UserSession
    user: User
    token: str
    station: str | None


def public(row: UserSession, username: str, station: str | None, now: datetime) -> SessionPublic:
    return SessionPublic(
        id=row.id or 0,
        user=username,
        method=row.method,
        station=station,
        badge=row.badge_id,
        created_at=row.created_at,
        last_seen_at=row.last_seen_at,
        idle_until=row.idle_until,
        expires_at=row.expires_at,
        ended_at=row.ended_at,
        end_reason=row.end_reason,
        active=row.ended_at is None and row.idle_until > now and row.expires_at > now,
    )


async def sign_in(
    session: AsyncSession,
    username: str,
    password: str,
    now: datetime,
    settings: Settings,
    *,
    station_token: str | None = None,
) -> Started:
    """Username + password at a desk. Wrong passwords count towards the password lockout. In
    an enrolled station's browser (`station_token`) people badge in instead; a stale station
    cookie is ignored: that browser is a desk now."""
    if station_token:
        try:
            await stations.by_token(session, station_token)
        except Unauthorized:
            pass
        else:
            raise refuse_password_at_station()
    credentials.bind(session, Credential(kind="password"))
    user = (
        await session.execute(select(User).where(col(User.username) == username))
    ).scalar_one_or_none()
    refused = Unauthorized(
        "The username or password is wrong, or the account is deactivated.",
        code="SIGN_IN_FAILED",
    )
    if user is None or not user.active:
        await _waste_time_like_a_check(password)
        raise refused
    if user.signing_locked:
        raise Unauthorized(
            f"The password of '{username}' is locked after {lockout.MAX_FAILURES} wrong "
            "attempts; an admin must unlock it.",
            code="PASSWORD_LOCKED",
        )
    refusal = await lockout.check(session, user, lockout.PASSWORD, password, action="signin")
    if refusal is not None:
        if refusal.locked:
            refused.detail += f" The password is now locked after {lockout.MAX_FAILURES} failures."
        raise refused
    return await _start(session, user, SignInMethod.password, None, None, now, settings)


async def badge_sign_in(
    session: AsyncSession,
    station: Station,
    badge: str,
    pin: str,
    now: datetime,
    settings: Settings,
) -> Started:
    """Badge, then PIN, at an enrolled station; ends whoever was signed in there."""
    name = station.name  # still readable once a failed flush has expired the ORM objects
    credentials.bind(session, Credential(kind="station", station=name))
    row, user = await badges.identify(session, badge)
    credentials.bind(session, Credential(kind="station", station=station.name, badge_id=row.id))
    await badges.check_pin(session, user, pin, signing=False)
    await end_at_station(session, station, now, actor=user.username, reason="replaced")
    try:
        return await _start(session, user, SignInMethod.badge_pin, station, row.id, now, settings)
    except IntegrityError as exc:
        raise Conflict(
            f"Someone else signed in at station '{name}' at the same moment; try again.",
            code="STATION_BUSY",
        ) from exc


async def _start(
    session: AsyncSession,
    user: User,
    method: SignInMethod,
    station: Station | None,
    badge_id: int | None,
    now: datetime,
    settings: Settings,
) -> Started:
    token = credentials.new_secret()
    idle = settings.station_idle if station is not None else settings.session_idle
    row = UserSession(
        user_id=user.id or 0,
        token_hash=credentials.digest(token),
        method=method,
        station_id=None if station is None else station.id,
        badge_id=badge_id,
        created_at=now,
        last_seen_at=now,
        idle_until=now + idle,
        expires_at=now + settings.session_max,
    )
    session.add(row)
    await session.flush()
    station_name = None if station is None else station.name
    credentials.bind(session, _credential(row, station_name))
    await audit.append(
        session,
        actor=user.username,
        action="session.start",
        entity_type="session",
        entity_id=row.id or 0,
        after=audit.snapshot(public(row, user.username, station_name, now)),
    )
    return Started(row=row, user=user, token=token, station=station_name)


def _credential(row: UserSession, station: str | None) -> Credential:
    if station is None:
        return Credential(kind="session", session_id=row.id)
    return Credential(kind="station", station=station, badge_id=row.badge_id, session_id=row.id)


# Built once: every browser request runs it. It checks and moves the idle deadline at once.
_TOUCH = (
    update(UserSession)
    .where(
        col(UserSession.token_hash) == bindparam("digest"),
        col(UserSession.ended_at).is_(None),
        col(UserSession.idle_until) > bindparam("now"),
        col(UserSession.expires_at) > bindparam("now"),
    )
    .values(
        last_seen_at=bindparam("now"),
        idle_until=case(
            (col(UserSession.station_id).is_(None), bindparam("desk_idle_until")),
            else_=bindparam("station_idle_until"),
        ),
    )
    .returning(
        col(UserSession.id),
        col(UserSession.user_id),
        col(UserSession.station_id),
        col(UserSession.badge_id),
    )
)


# The same check without moving the deadline (a stream re-checking its caller).
_LOOK = select(
    col(UserSession.id),
    col(UserSession.user_id),
    col(UserSession.station_id),
    col(UserSession.badge_id),
).where(
    col(UserSession.token_hash) == bindparam("digest"),
    col(UserSession.ended_at).is_(None),
    col(UserSession.idle_until) > bindparam("now"),
    col(UserSession.expires_at) > bindparam("now"),
)


@dataclass(frozen=True)
class Current:
    user: User
    session_id: int
    station: Station | None
    credential: Credential


async def authenticate(
    session: AsyncSession,
    token: str,
    station_token: str | None,
    now: datetime,
    settings: Settings,
    *,
    touch: bool = True,
) -> Current:
    """The person this session cookie signs in, or 401 saying why (ended, idle, expired).

    A station session is valid only with that station's own, enabled credential beside it, and
    while the badge it was opened with is not revoked.
    """
    params: dict[str, object] = {"digest": credentials.digest(token), "now": now}
    if touch:
        params["desk_idle_until"] = now + settings.session_idle
        params["station_idle_until"] = now + settings.station_idle
    touched = (await session.execute(_TOUCH if touch else _LOOK, params)).one_or_none()
    if touched is None:
        await _explain_refusal(session, token, now)
    assert touched is not None
    session_id, user_id, station_id, badge_id = touched
    user = await session.get(User, user_id)
    if user is None or not user.active:
        raise Unauthorized("Your account is deactivated; the session has ended.")
    station: Station | None = None
    if station_id is not None:
        try:
            station = await stations.by_token(session, station_token)
        except Unauthorized as exc:
            raise Unauthorized(
                "This session belongs to a station and is valid only there; " + exc.detail,
                code="STATION_INVALID",
            ) from exc
        if station.id != station_id:
            raise Unauthorized(
                "This session belongs to another station; sign in here with your badge.",
                code="STATION_INVALID",
            )
        badge, _ = await badges.get(session, badge_id or 0)
        if badge.revoked_at is not None:
            raise Unauthorized("Your badge was revoked; the session has ended.")
    row_station = None if station is None else station.name
    credential = (
        Credential(kind="session", session_id=session_id)
        if station is None
        else Credential(
            kind="station", station=row_station, badge_id=badge_id, session_id=session_id
        )
    )
    return Current(user=user, session_id=session_id or 0, station=station, credential=credential)


async def _explain_refusal(session: AsyncSession, token: str, now: datetime) -> None:
    """Why the session is no longer valid; an idle or expired one is ended and recorded, in a
    transaction of its own (the request is refused and its unit of work rolled back)."""
    row = (
        await session.execute(
            select(UserSession).where(col(UserSession.token_hash) == credentials.digest(token))
        )
    ).scalar_one_or_none()
    if row is None:
        raise Unauthorized("The session is unknown; sign in again.", code="SESSION_INVALID")
    if row.ended_at is not None:
        raise Unauthorized(
            f"The session ended ({row.end_reason}); sign in again.", code="SESSION_ENDED"
        )
    reason = "expired" if row.expires_at <= now else "idle"
    user = await session.get(User, row.user_id)
    actor = None if user is None else user.username
    async with db.apart(session) as own:
        await _end(own, row, now, reason, actor=actor)
    message = (
        "The session reached its maximum length"
        if reason == "expired"
        else "The session was idle too long"
    )
    raise Unauthorized(f"{message}; sign in again.", code="SESSION_EXPIRED")


async def _end(
    session: AsyncSession, row: UserSession, now: datetime, reason: str, actor: str | None
) -> None:
    # Conditional: of two requests ending one session at once, only one ends it and records it.
    ended = (
        await session.execute(
            update(UserSession)
            .where(col(UserSession.id) == row.id, col(UserSession.ended_at).is_(None))
            .values(ended_at=now, end_reason=reason, ended_by=actor)
            .returning(col(UserSession.id))
        )
    ).first()
    if ended is None:
        return
    await audit.append(
        session,
        actor=actor,
        action="session.end",
        entity_type="session",
        entity_id=row.id or 0,
        after={"end_reason": reason},
    )


async def end_at_station(
    session: AsyncSession, station: Station, now: datetime, *, actor: str, reason: str
) -> None:
    """End whoever is signed in at `station` (a new sign-in there, or signing out)."""
    rows = (
        (
            await session.execute(
                select(UserSession).where(
                    col(UserSession.station_id) == station.id,
                    col(UserSession.ended_at).is_(None),
                )
            )
        )
        .scalars()
        .all()
    )
    for row in rows:
        await _end(session, row, now, reason, actor)


async def get(session: AsyncSession, session_id: int) -> tuple[UserSession, User, str | None]:
    found = (
        await session.execute(
            select(UserSession, User, col(Station.name))
            .join(User, col(User.id) == col(UserSession.user_id))
            .outerjoin(Station, col(Station.id) == col(UserSession.station_id))
            .where(col(UserSession.id) == session_id)
        )
    ).one_or_none()
    if found is None:
        raise NotFound(f"Session {session_id} does not exist.", code="SESSION_NOT_FOUND")
    return found[0], found[1], found[2]


async def end(
    session: AsyncSession, actor: User, session_id: int, now: datetime, *, as_admin: bool
) -> None:
    """Sign out (your own session) or end someone's session (an admin): it stops at once."""
    row, owner, _ = await get(session, session_id)
    if owner.id != actor.id and not as_admin:
        raise NotFound(f"Session {session_id} does not exist.", code="SESSION_NOT_FOUND")
    if row.ended_at is not None:
        return
    reason = "signed_out" if owner.id == actor.id else "revoked"
    await _end(session, row, now, reason, actor.username)


async def list_open(
    session: AsyncSession, now: datetime, user: User | None = None
) -> Sequence[tuple[UserSession, str, str | None]]:
    """Open sessions (not ended, not idle, not expired), of one user or of everyone."""
    query = (
        select(UserSession, col(User.username), col(Station.name))
        .join(User, col(User.id) == col(UserSession.user_id))
        .outerjoin(Station, col(Station.id) == col(UserSession.station_id))
        .where(
            col(UserSession.ended_at).is_(None),
            col(UserSession.idle_until) > now,
            col(UserSession.expires_at) > now,
        )
        .order_by(col(UserSession.id))
    )
    if user is not None:
        query = query.where(col(UserSession.user_id) == user.id)
    return [(r[0], r[1], r[2]) for r in (await session.execute(query)).all()]


def refuse_password_at_station() -> Forbidden:
    return Forbidden(
        "This browser is an enrolled station: sign in with your badge and PIN.",
        code="USE_BADGE_AT_STATION",
    )
