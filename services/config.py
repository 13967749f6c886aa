"""Settings from the environment, and the normalisation of database URLs."""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./sutrace.db"


def normalise_database_url(url: str) -> str:
    """Map the URL forms people type to the async drivers sutrace runs on."""
    url = url.strip()
    for plain, driver in (
        ("sqlite://", "sqlite+aiosqlite://"),
        ("postgresql://", "postgresql+psycopg://"),
        ("postgres://", "postgresql+psycopg://"),
        ("postgresql+psycopg2://", "postgresql+psycopg://"),
        ("postgresql+asyncpg://", "postgresql+psycopg://"),
    ):
        if url.startswith(plain):
            return driver + url[len(plain) :]
    if url.startswith(("sqlite+aiosqlite://", "postgresql+psycopg://")):
        return url
    raise ValueError(
        f"DATABASE_URL '{url}' is not supported; use sqlite+aiosqlite:///path "
        "or postgresql+psycopg://user@host:port/db."
    )


class Settings(BaseSettings):
    """Everything that decides how the service runs, read from the environment."""

    model_config = SettingsConfigDict(env_file=None, extra="ignore")

    database_url: str = DEFAULT_DATABASE_URL
    site_timezone: str = "UTC"
    bootstrap_admin_key: str | None = None
    cors_origins: list[str] = []
    db_pool_size: int = 20
    label_template_dir: Path | None = None
    """Where the ZPL label templates are read; the repository's services/barcodes/zpl."""
    printer_timeout_s: float = 5.0
    """Seconds a label printer has to take a job's bytes."""
    # People: sign-in sessions at desks and stations, and the codes that enrol people and stations.
    session_idle_minutes: float = 15
    session_max_hours: float = 12
    station_idle_minutes: float = 5
    enrolment_hours: float = 72
    # Secure cookies: None decides per request (HTTPS or not); true behind a TLS proxy.
    cookie_secure: bool | None = None

    @field_validator("database_url")
    @classmethod
    def _normalise_url(cls, value: str) -> str:
        return normalise_database_url(value)

    @field_validator("site_timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"SITE_TIMEZONE '{value}' is not a known IANA time zone.") from exc
        return value

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.site_timezone)

    @property
    def session_idle(self) -> timedelta:
        return timedelta(minutes=self.session_idle_minutes)

    @property
    def station_idle(self) -> timedelta:
        return timedelta(minutes=self.station_idle_minutes)

    @property
    def session_max(self) -> timedelta:
        return timedelta(hours=self.session_max_hours)

    @property
    def enrolment_valid(self) -> timedelta:
        return timedelta(hours=self.enrolment_hours)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache
def get_settings() -> Settings:
    return Settings()
