"""Dependencies: the unit of work, the authenticated user, and lookups by natural key."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import date
from typing import Annotated

from fastapi import Depends, Path, Query, Request
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from api.policy import allowed_roles
from models.catalog import ComponentType
from models.labels import Printer, PrintJob
from models.lots import Lot
from models.units import Unit
from models.users import User
from services.clock import today_in
from services.config import Settings
from services.dock import catalog, lots, printers, printing, units
from services.errors import Forbidden, SutraceError
from services.trust import users


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One unit of work per request: commit when the handler returns, roll back when it raises.

    A refusal that is a record (`SutraceError.commit`) is committed, then answered.
    """
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
        except SutraceError as exc:
            if exc.commit:
                await session.commit()
            else:
                await session.rollback()
            raise
        except BaseException:
            await session.rollback()
            raise
        else:
            await session.commit()


SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


def bearer_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return key.strip() or None


async def check_access(request: Request, session: AsyncSession) -> User:
    """401 without a valid key, 403 when the route's declared roles exclude the user's."""
    user = await users.authenticate(session, bearer_key(request))
    route = request.scope.get("route")
    roles = allowed_roles(request.method, route.path) if isinstance(route, APIRoute) else None
    if roles is None or user.role not in roles:
        raise Forbidden(
            f"Role '{user.role}' may not {request.method} "
            f"{route.path if isinstance(route, APIRoute) else request.url.path}.",
            code="ROLE_NOT_ALLOWED",
        )
    return user


async def authorize(request: Request, session: SessionDep) -> User:
    return await check_access(request, session)


CurrentUser = Annotated[User, Depends(authorize)]


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
