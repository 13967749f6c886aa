"""Health, version."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from sqlalchemy import text

from api.deps import SessionDep, SettingsDep
from api.errors import problem
from api.openapi import problems
from api.routes import secured_router
from services.db import DatabaseProbe

public_router = APIRouter(tags=["service"])
router = secured_router("service")


class Health(BaseModel):
    status: str
    database: str


class Version(BaseModel):
    version: str
    schema_revision: str | None
    database: str
    site_timezone: str


@public_router.get(
    "/healthz",
    response_model=Health,
    responses=problems({503: ["DATABASE_UNREACHABLE"]}, {503: "The database did not answer."}),
)
async def healthz(request: Request) -> Health | JSONResponse:
    """Live and able to reach the database: it answered a `SELECT 1` within the last second
    (one probe per worker per second, however often this is polled; services/db.py)."""
    probe: DatabaseProbe = request.app.state.database_probe
    if not await probe.reachable():
        return problem(
            503, "DATABASE_UNREACHABLE", "The database did not answer; the service cannot work."
        )
    settings = request.app.state.settings
    return Health(status="ok", database="sqlite" if settings.is_sqlite else "postgresql")


@router.get("/version", response_model=Version)
async def version(request: Request, session: SessionDep, settings: SettingsDep) -> Version:
    """The version, the schema revision, and the settings that decide outcomes."""
    revision = (await session.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    return Version(
        version=request.app.state.version,
        schema_revision=revision,
        database="sqlite" if settings.is_sqlite else "postgresql",
        site_timezone=settings.site_timezone,
    )
