"""Dependencies: the unit of work, the authenticated user, and lookups by natural key."""

from __future__ import annotations

import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.routing import APIRoute
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from api.policy import allowed_roles
from models.catalog import ComponentType
from models.labels import Printer, PrintJob
from models.lots import Lot
from models.people import Station
from models.units import Unit
from models.users import User
from services.clock import Clock, today_in
from services.config import Settings
from services.dock import catalog, lots, printers, printing, units
from services.errors import Forbidden
from services.trust import access, credentials, stations
from services.trust.credentials import Credential


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: commit when the handler returns, roll back when it raises.

    Nothing an error interrupts is committed: a refusal that must be kept is either a result
    (a blocked scan) or written apart from the request (`services.db.apart`).
    """
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Declared for /docs: a browser signs in with a cookie, a machine client sends a key. The
# dependency below reads the request itself, so that exactly one of the two decides.
_bearer = HTTPBearer(auto_error=False, description="An API key (machine clients).")
_cookie = APIKeyCookie(
    name=access.SESSION_COOKIE,
    auto_error=False,
    description="A sign-in session (browsers). State-changing requests also send X-CSRF-Token.",
)


def presented(request: Request) -> access.Presented:
    return access.Presented(
        authorization=request.headers.get("authorization"),
        session_cookie=request.cookies.get(access.SESSION_COOKIE),
        station_cookie=request.cookies.get(access.STATION_COOKIE),
    )


def now_of(request: Request) -> datetime:
    clock: Clock = request.app.state.clock
    return clock.now()


def check_csrf(request: Request, secret: str | None) -> None:
    """A state-changing request made with a cookie carries the CSRF token derived from it."""
    if secret is None or request.method in SAFE_METHODS:
        return
    sent = request.headers.get("x-csrf-token")
    if not sent:
        raise Forbidden(
            "A request made with a sign-in cookie must send its X-CSRF-Token header (the "
            "csrf_token given at sign-in).",
            code="CSRF_TOKEN_MISSING",
        )
    if not hmac.compare_digest(sent, credentials.csrf_token(secret)):
        raise Forbidden(
            "The X-CSRF-Token header does not match this sign-in; reload the page.",
            code="CSRF_TOKEN_INVALID",
        )


async def check_access(request: Request, session: AsyncSession, *, touch: bool = True) -> User:
    """401 without a valid credential, 403 without the CSRF token a cookie request needs, 403
    when the route's declared roles exclude the user's. Binds the credential to the unit of
    work, so every audit event it writes names it. An open stream re-checking its caller
    passes `touch=False`: watching a dashboard does not keep a sign-in from going idle."""
    caller = await access.authenticate(
        session, presented(request), now_of(request), request.app.state.settings, touch=touch
    )
    check_csrf(request, caller.csrf_secret)
    user = caller.user
    route = request.scope.get("route")
    roles = allowed_roles(request.method, route.path) if isinstance(route, APIRoute) else None
    if roles is None or user.role not in roles:
        raise Forbidden(
            f"Role '{user.role}' may not {request.method} "
            f"{route.path if isinstance(route, APIRoute) else request.url.path}.",
            code="ROLE_NOT_ALLOWED",
        )
    credentials.bind(session, caller.credential)
    request.state.caller = caller
    return user


async def authorize(
    request: Request,
    session: SessionDep,
    _key: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    _session_cookie: Annotated[str | None, Depends(_cookie)],
) -> User:
    return await check_access(request, session)


CurrentUser = Annotated[User, Depends(authorize)]


async def current_caller(request: Request, user: CurrentUser) -> access.Caller:
    caller: access.Caller = request.state.caller
    return caller


CallerDep = Annotated[access.Caller, Depends(current_caller)]


async def current_station(request: Request, session: SessionDep) -> Station:
    """The enrolled, enabled station this browser is (its credential cookie), or 401; a
    state-changing request also needs the station's CSRF token."""
    token = request.cookies.get(access.STATION_COOKIE)
    station = await stations.by_token(session, token)
    check_csrf(request, token)
    credentials.bind(session, Credential(kind="station", station=station.name))
    return station


StationDep = Annotated[Station, Depends(current_station)]


async def get_now(request: Request) -> datetime:
    """Now by the app's clock, which decides sessions' idle and absolute ends."""
    return now_of(request)


NowDep = Annotated[datetime, Depends(get_now)]


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


SettingsDep = Annotated[Settings, Depends(get_settings)]


@dataclass(frozen=True)
class Paging:
    limit: int
    offset: int


# Dependencies are async: FastAPI runs plain functions in a worker thread, a hop per request.
async def get_paging(
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2_000_000_000)] = 0,
) -> Paging:
    return Paging(limit=limit, offset=offset)


PagingDep = Annotated[Paging, Depends(get_paging)]


async def get_today(settings: SettingsDep) -> date:
    """Today in SITE_TIMEZONE, from the server clock."""
    return today_in(settings.zone)


TodayDep = Annotated[date, Depends(get_today)]
LotId = Annotated[int, Path(ge=1, le=2**31 - 1)]


async def get_lot(lot_id: LotId, session: SessionDep) -> Lot:
    return await lots.get(session, lot_id)


async def get_unit(barcode: Annotated[str, Path(max_length=64)], session: SessionDep) -> Unit:
    return await units.get(session, barcode)


async def get_component_type(
    code: Annotated[str, Path(max_length=64)], session: SessionDep
) -> ComponentType:
    return await catalog.get(session, code)


LotDep = Annotated[Lot, Depends(get_lot)]
UnitDep = Annotated[Unit, Depends(get_unit)]
ComponentTypeDep = Annotated[ComponentType, Depends(get_component_type)]


async def get_printer(name: Annotated[str, Path(max_length=64)], session: SessionDep) -> Printer:
    return await printers.get(session, name)


async def get_print_job(
    job_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep
) -> PrintJob:
    return await printing.get(session, job_id)


async def get_template_name(name: Annotated[str, Path(max_length=64)]) -> str:
    return printers.known_template(name)


PrinterDep = Annotated[Printer, Depends(get_printer)]
TemplateNameDep = Annotated[str, Depends(get_template_name)]
PrintJobDep = Annotated[PrintJob, Depends(get_print_job)]
