"""Shared column types, bounded text types and the metadata naming convention."""

from __future__ import annotations

import re
import unicodedata
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


# Control (Cc), format (Cf: U+200B, U+200D, U+2060, U+FEFF, bidi marks), surrogate, private-use
# and unassigned characters (Cn, which holds the noncharacters U+FFFE and U+FFFF), and the line
# and paragraph separators: none is visible, so none may tell one identifier from another.
_INVISIBLE = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def _is_space(char: str) -> bool:
    return char in "\t\n\v\f\r" or unicodedata.category(char) == "Zs"


def identifier(value: str) -> str:
    """An identifier as people type or scan it, in the one form every comparison uses.

    NFKC folds compatibility look-alikes (a full-width X, U+FF38, is 'X', a no-break space a space),
    surrounding whitespace goes, and an invisible or control character anywhere (a zero-width
    space, a C0 or C1 control, U+FFFE) is refused rather than silently removed: two strings a
    person cannot tell apart are the same identifier or are not accepted at all.
    """
    text = unicodedata.normalize("NFKC", value)
    start, end = 0, len(text)
    while start < end and _is_space(text[start]):
        start += 1
    while end > start and _is_space(text[end - 1]):
        end -= 1
    text = text[start:end]
    for position, char in enumerate(text, 1):
        if unicodedata.category(char) in _INVISIBLE or (_is_space(char) and char != " "):
            raise ValueError(
                f"contains the invisible or control character U+{ord(char):04X} at position "
                f"{position}; type or scan the identifier again"
            )
    if not text:
        raise ValueError("must not be blank")
    return text


def _bounded(max_length: int) -> AfterValidator:
    def check(value: str) -> str:
        if len(value) > max_length:
            raise ValueError(f"is {len(value)} characters once normalised; at most {max_length}")
        return value

    return AfterValidator(check)


Identifier20 = Annotated[
    str, StringConstraints(min_length=1, max_length=20), AfterValidator(identifier), _bounded(20)
]
"""An identifier people type or scan (a supplier lot), normalised before any comparison."""
Identifier512 = Annotated[
    str, StringConstraints(min_length=1, max_length=512), AfterValidator(identifier), _bounded(512)
]


def _normalised(value: object) -> object:
    return identifier(value) if isinstance(value, str) else value


Normalised = BeforeValidator(_normalised)
"""`identifier` before the constraints are checked: put it after them in `Annotated`, so the
pattern and the length hold for the normalised form (and the schema still shows them)."""

Text = AfterValidator(_single_line_text)
"""A single line of text without control characters: bound each use with StringConstraints."""

Code = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$"),
    Normalised,
]
"""The code or number of a record people name (a component type, a batch, a printer, a station)."""
Reference = Annotated[str, StringConstraints(min_length=1, max_length=100), Normalised]
"""A `Code` as a body names an existing record, in the form the record was stored in."""
Text20 = Annotated[str, StringConstraints(min_length=1, max_length=20), Text]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=100), Text]
Name = Annotated[str, StringConstraints(min_length=1, max_length=200), Text]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000), Text]
Meaning = Annotated[str, StringConstraints(min_length=1, max_length=200), Text]
