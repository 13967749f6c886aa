"""Health, version."""

from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel
from sqlalchemy import text

from api.deps import SessionDep, SettingsDep
from api.routes import secured_router

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


@public_router.get("/healthz", response_model=Health)
async def healthz(session: SessionDep, settings: SettingsDep) -> Health:
    """Live and able to reach the database."""
    await session.execute(text("SELECT 1"))
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
