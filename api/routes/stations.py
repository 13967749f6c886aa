"""Stations: an admin registers them; a station enrols itself once and signs people in."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Request, Response

from api import cookies
from api.deps import CurrentUser, NowDep, PagingDep, SessionDep, SettingsDep, StationDep
from api.openapi import problems
from api.routes import open_router, secured_router
from models.common import Page
from models.people import (
    BadgeSignIn,
    EnrolmentIssued,
    SignedIn,
    StationCreate,
    StationCreated,
    StationEnrol,
    StationEnrolled,
    StationNow,
    StationPublic,
)
from services.trust import access, credentials, sessions, stations, users

router = secured_router("stations")
open_routes = open_router("stations")
StationName = Annotated[str, Path(max_length=64)]
STATION_404 = problems({404: ["STATION_NOT_FOUND"]})


@router.post(
    "/stations",
    status_code=201,
    response_model=StationCreated,
    responses=problems({409: ["ALREADY_EXISTS"]}),
)
async def create(
    body: StationCreate, actor: CurrentUser, session: SessionDep, settings: SettingsDep, now: NowDep
) -> StationCreated:
    """Register a station; the answer's one-time code enrols its browser or scanner client."""
    station, code = await stations.create(
        session, actor.username, body, now, settings.enrolment_valid
    )
    return StationCreated(
        station=stations.public(station),
        enrolment=EnrolmentIssued(code=code, expires_at=station.enrolment_expires_at or now),
    )


@router.get("/stations", response_model=Page[StationPublic])
async def list_all(session: SessionDep, paging: PagingDep) -> Page[StationPublic]:
    rows = await stations.list_all(session)
    items = [stations.public(s) for s in rows]
    return Page(items=items[paging.offset : paging.offset + paging.limit], total=len(items))


@router.get("/stations/{name}", response_model=StationPublic, responses=STATION_404)
async def get(name: StationName, session: SessionDep) -> StationPublic:
    return stations.public(await stations.get(session, name))


@router.post(
    "/stations/{name}/enrolment",
    status_code=201,
    response_model=EnrolmentIssued,
    responses=STATION_404,
)
async def reissue(
    name: StationName, actor: CurrentUser, session: SessionDep, settings: SettingsDep, now: NowDep
) -> EnrolmentIssued:
    """A new one-time code (a replaced terminal, or a disabled station back in use): the old
    credential stops now."""
    station, code = await stations.reissue(
        session, actor.username, name, now, settings.enrolment_valid
    )
    return EnrolmentIssued(code=code, expires_at=station.enrolment_expires_at or now)


@router.post("/stations/{name}/disable", response_model=StationPublic, responses=STATION_404)
async def disable(
    name: StationName, actor: CurrentUser, session: SessionDep, now: NowDep
) -> StationPublic:
    """Disable a station: its credential, and whoever is signed in there, stop at once."""
    station = await stations.disable(session, actor.username, name, now)
    return stations.public(station)


@open_routes.post(
    "/station/enrol",
    response_model=StationEnrolled,
    responses=problems({401: ["ENROLMENT_INVALID"]}),
)
async def enrol(
    body: StationEnrol, request: Request, response: Response, session: SessionDep, now: NowDep
) -> StationEnrolled:
    """Exchange the station's enrolment code, once: sets the station credential cookie."""
    station, token = await stations.enrol(session, body.code, now)
    cookies.set_station(request, response, token)
    return StationEnrolled(
        station=stations.public(station), csrf_token=credentials.csrf_token(token)
    )


@open_routes.get("/station", response_model=StationNow)
async def this_station(
    station: StationDep, request: Request, session: SessionDep, now: NowDep
) -> StationNow:
    """This station, who is signed in at it now, and its CSRF token."""
    open_rows = [r for r in await sessions.list_open(session, now) if r[2] == station.name]
    token = request.cookies.get(access.STATION_COOKIE) or ""
    return StationNow(
        station=stations.public(station),
        signed_in=open_rows[0][1] if open_rows else None,
        csrf_token=credentials.csrf_token(token),
    )


@open_routes.post(
    "/station/sessions",
    status_code=201,
    response_model=SignedIn,
    responses=problems(
        {
            401: [
                "STATION_REQUIRED",
                "STATION_INVALID",
                "BADGE_UNKNOWN",
                "BADGE_REVOKED",
                "USER_INACTIVE",
                "PIN_NOT_SET",
                "PIN_LOCKED",
                "PIN_INVALID",
            ],
            409: ["STATION_BUSY"],
        }
    ),
)
async def badge_sign_in(
    body: BadgeSignIn,
    station: StationDep,
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    now: NowDep,
) -> SignedIn:
    """Badge, then PIN: signs the operator in at this station, ending whoever was signed in
    here. Signs out after STATION_IDLE_MINUTES (5) without a request."""
    started = await sessions.badge_sign_in(session, station, body.badge, body.pin, now, settings)
    cookies.set_session(request, response, started.token, settings.session_max)
    token = request.cookies.get(access.STATION_COOKIE) or ""
    return SignedIn(
        session=sessions.public(started.row, started.user.username, station.name, now),
        user=users.public(started.user),
        csrf_token=credentials.csrf_token(token),
    )
