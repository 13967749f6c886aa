"""Shared column types, bounded text types and the metadata naming convention."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, StringConstraints
from sqlalchemy import DateTime, Dialect
from sqlalchemy.types import TypeDecorator
from sqlmodel import SQLModel

# Stable constraint names, so that migrations and `alembic check` agree on every database.
SQLModel.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC timestamp on every database (SQLite keeps no offset of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC time")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def utcnow() -> datetime:
    """The server clock, the only clock that decides anything."""
    return datetime.now(UTC)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def no_surrogates(value: str) -> str:
    """JSON may escape a lone UTF-16 surrogate; no database can store one."""
    if _SURROGATE.search(value):
        raise ValueError("contains an unpaired UTF-16 surrogate; send valid Unicode text")
    return value


def no_control_characters(value: str) -> str:
    match = _CONTROL.search(value)
    if match:
        raise ValueError(
            f"contains control character U+{ord(match.group()):04X} at position {match.start() + 1}"
        )
    return no_surrogates(value)


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("must not be blank")
    return value


def _iso_day(value: object) -> object:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _DAY.fullmatch(value):
        return value
    raise ValueError("must be a date written YYYY-MM-DD")


_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
Day = Annotated[date, BeforeValidator(_iso_day)]
"""A calendar date as the contract writes it, YYYY-MM-DD: no timestamps, no numbers."""


def _single_line_text(value: str) -> str:
    return _not_blank(no_control_characters(value))


Text = AfterValidator(_single_line_text)
"""A single line of text without control characters: bound each use with StringConstraints."""

Code = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"),
]
Text20 = Annotated[str, StringConstraints(min_length=1, max_length=20), Text]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=100), Text]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), Text]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000), Text]
Meaning = Annotated[str, StringConstraints(min_length=1, max_length=200), Text]
