"""The checks that come before the body, for a request whose body was refused before they ran.

FastAPI reads and validates the body before any dependency runs, so a body that is not JSON (or
not UTF-8, nested past Python's limit, an integer of thousands of digits) or does not match the
schema would be answered before the key, the role and the record the path names were checked.
The contract's order is 401 -> 403 -> 404 -> the body: the error handlers ask this module first.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from itertools import pairwise
from typing import Any

from fastapi import Request
from fastapi.routing import APIRoute
from sqlalchemy.ext.asyncio import AsyncSession

from api.policy import API_PREFIX, PUBLIC, STATION
from services.dock import catalog, lots, printers, printing, units
from services.errors import SutraceError
from services.line import batches, scans
from services.quality import flags, recalls
from services.trust import badges, stations, users

Lookup = Callable[[AsyncSession, str], Awaitable[Any]]


def _by_int(get: Callable[[AsyncSession, int], Awaitable[Any]]) -> Lookup:
    async def lookup(session: AsyncSession, value: str) -> Any:
        # An id that is not a number in range is the path's own validation error, not a 404.
        if value.isascii() and value.isdigit() and 1 <= int(value) <= 2**31 - 1:
            return await get(session, int(value))
        return None

    return lookup


# The record each path parameter names, by the collection it follows in the path.
LOOKUPS: dict[tuple[str, str], Lookup] = {
    ("lots", "lot_id"): _by_int(lots.get),
    ("units", "barcode"): units.get,
    ("batches", "batch_number"): batches.get,
    ("component-types", "code"): catalog.get,
    ("scans", "scan_id"): _by_int(scans.get),
    ("flags", "flag_id"): _by_int(flags.get),
    ("recalls", "recall_id"): _by_int(recalls.get),
    ("users", "username"): users.get_user,
    ("print-jobs", "job_id"): _by_int(printing.get),
    ("printers", "name"): printers.get,
    ("stations", "name"): stations.get,
    ("badges", "badge_id"): _by_int(badges.get),
}


async def refusal_before_body(request: Request) -> SutraceError | None:
    """The 401, 403 or 404 this request gets before its body is looked at, if any."""
    from api.deps import check_access, current_station  # deps imports the error handlers' kin

    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return None
    operation = (request.method, route.path.removeprefix(API_PREFIX))
    try:
        async with request.app.state.sessionmaker() as session:
            if operation in STATION:
                await current_station(request, session)
            elif operation not in PUBLIC:
                await check_access(request, session)
            await _path_records(session, route, request.path_params)
    except SutraceError as error:
        return error
    return None


async def _path_records(session: AsyncSession, route: APIRoute, values: dict[str, Any]) -> None:
    segments = route.path.removeprefix(API_PREFIX).strip("/").split("/")
    for before, segment in pairwise(segments):
        if segment.startswith("{") and segment.endswith("}"):
            name = segment[1:-1]
            lookup = LOOKUPS.get((before, name))
            if lookup is not None and name in values:
                await lookup(session, str(values[name]))
