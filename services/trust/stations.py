"""Stations: shared terminals at the line, the warehouse and QA, known by their own credential.

An admin registers a station and gets a one-time enrolment code; the station's browser (or
scanner client) exchanges it once for the station credential, a 256-bit token kept by the client
as a cookie and by the service as its SHA-256. Disabling a station, or issuing it a new code,
stops the credential and the session of whoever is signed in there at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.people import Station, StationCreate, StationPublic, UserSession
from services.errors import AlreadyExists, NotFound, Unauthorized
from services.trust import audit, credentials
from services.trust.credentials import Credential


def public(station: Station) -> StationPublic:
    return StationPublic(
        id=station.id or 0,
        name=station.name,
        location=station.location,
        kind=station.kind,
        created_at=station.created_at,
        created_by=station.created_by,
        enrolled=station.token_hash is not None,
        enrolled_at=station.enrolled_at,
        disabled_at=station.disabled_at,
    )


async def get(session: AsyncSession, name: str) -> Station:
    station = (
        await session.execute(select(Station).where(col(Station.name) == name))
    ).scalar_one_or_none()
    if station is None:
        raise NotFound(f"Station '{name}' does not exist.", code="STATION_NOT_FOUND")
    return station


async def list_all(session: AsyncSession) -> Sequence[Station]:
    return (await session.execute(select(Station).order_by(col(Station.name)))).scalars().all()


async def create(
    session: AsyncSession, actor: str, data: StationCreate, now: datetime, valid: timedelta
) -> tuple[Station, str]:
    """Register a station; returns it and its one-time enrolment code (shown once)."""
    code = credentials.new_code()
    station = Station(
        name=data.name,
        location=data.location,
        kind=data.kind,
        created_at=now,
        created_by=actor,
        enrolment_hash=credentials.code_digest(code),
        enrolment_expires_at=now + valid,
    )
    session.add(station)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise AlreadyExists(f"Station '{data.name}' exists already.") from exc
    await audit.append(
        session,
        actor=actor,
        action="station.create",
        entity_type="station",
        entity_id=station.name,
        after=audit.snapshot(public(station)),
    )
    return station, code


async def reissue(
    session: AsyncSession, actor: str, name: str, now: datetime, valid: timedelta
) -> tuple[Station, str]:
    """A new enrolment code (a replaced or re-imaged terminal): the old credential stops now,
    with the session signed in there; a disabled station is enabled again by enrolling."""
    station = await get(session, name)
    code = credentials.new_code()
    async with audit.changing(
        session,
        lambda: public(station),
        actor=actor,
        action="station.enrolment_issue",
        entity_type="station",
        entity_id=station.name,
    ):
        station.enrolment_hash = credentials.code_digest(code)
        station.enrolment_expires_at = now + valid
        station.token_hash = None
        station.enrolled_at = None
        # Within the change: the sessions it ends are recorded before the station event.
        await _end_sessions(session, actor, station, now, "station_reenrolled")
    return station, code


async def enrol(session: AsyncSession, code: str, now: datetime) -> tuple[Station, str]:
    """Exchange an enrolment code, once, for the station credential (returned once)."""
    token = credentials.new_secret()
    station = (
        await session.execute(
            update(Station)
            .where(
                col(Station.enrolment_hash) == credentials.code_digest(code),
                col(Station.enrolment_expires_at) > now,
            )
            .values(
                enrolment_hash=None,
                enrolment_expires_at=None,
                token_hash=credentials.digest(token),
                enrolled_at=now,
                disabled_at=None,
            )
            .returning(Station)
        )
    ).scalar_one_or_none()
    if station is None:
        raise Unauthorized(
            "The enrolment code is unknown, used or expired; ask an admin for a new one.",
            code="ENROLMENT_INVALID",
        )
    credentials.bind(session, Credential(kind="station", station=station.name))
    await audit.append(
        session,
        actor=None,
        action="station.enrol",
        entity_type="station",
        entity_id=station.name,
        after=audit.snapshot(public(station)),
    )
    return station, token


async def disable(session: AsyncSession, actor: str, name: str, now: datetime) -> Station:
    """Disable a station: its credential, and the session signed in there, stop at once."""
    station = await get(session, name)
    if station.disabled_at is not None:
        return station
    async with audit.changing(
        session,
        lambda: public(station),
        actor=actor,
        action="station.disable",
        entity_type="station",
        entity_id=station.name,
    ):
        station.disabled_at = now
        station.token_hash = None
        station.enrolment_hash = None
        station.enrolment_expires_at = None
        # Within the change: the sessions it ends are recorded before the station event.
        await _end_sessions(session, actor, station, now, "station_disabled")
    return station


async def by_token(session: AsyncSession, token: str | None) -> Station:
    """The enabled station holding this credential, or 401."""
    if not token:
        raise Unauthorized(
            "This browser is not an enrolled station; enrol it with the code from an admin.",
            code="STATION_REQUIRED",
        )
    station = (
        await session.execute(
            select(Station).where(
                col(Station.token_hash) == credentials.digest(token),
                col(Station.disabled_at).is_(None),
            )
        )
    ).scalar_one_or_none()
    if station is None:
        raise Unauthorized(
            "The station credential is unknown, replaced, or the station is disabled; ask an "
            "admin to enrol this station again.",
            code="STATION_INVALID",
        )
    return station


async def _end_sessions(
    session: AsyncSession, actor: str, station: Station, now: datetime, reason: str
) -> None:
    ended = (
        (
            await session.execute(
                update(UserSession)
                .where(
                    col(UserSession.station_id) == station.id,
                    col(UserSession.ended_at).is_(None),
                )
                .values(ended_at=now, end_reason=reason, ended_by=actor)
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
            after={"end_reason": reason, "station": station.name},
        )
