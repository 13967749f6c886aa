"""People at desks and stations: enrolment codes, stations, badges and sign-in sessions.

Every secret here (enrolment code, station credential, session token, badge id) is stored only
as its SHA-256: each is random and long, or (a badge id) looked up, never shown again.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import StringConstraints
from sqlalchemy import Column, ForeignKey, Index, Integer, String, text
from sqlmodel import Field, SQLModel

from models.base import Code, Name, Normalised, Reason, Text, UtcDateTime
from models.users import AnyPassword, AnyPin, KeyCreated, Password, Pin, UserPublic

Secret = Annotated[str, StringConstraints(min_length=1, max_length=200), Text]
BadgeId = Annotated[str, StringConstraints(min_length=4, max_length=128), Text]
"""What the badge reader types: 4 to 128 printable characters."""


class StationKind(StrEnum):
    line = "line"
    warehouse = "warehouse"
    qa = "qa"


class SignInMethod(StrEnum):
    password = "password"
    badge_pin = "badge_pin"


class EnrolmentCode(SQLModel, table=True):
    """A one-time code an admin issues for a user; only the user exchanges it."""

    __tablename__ = "enrolment_code"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user.id"), nullable=False, index=True)
    )
    code_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_by: str = Field(sa_column=Column(String(64), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    used_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    superseded_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class Station(SQLModel, table=True):
    """A shared scan station: enrolled once with a code, then known by its credential."""

    __tablename__ = "station"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    location: str = Field(sa_column=Column(String(200), nullable=False))
    kind: StationKind = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_by: str = Field(sa_column=Column(String(64), nullable=False))
    enrolment_hash: str | None = Field(default=None, sa_column=Column(String(64), unique=True))
    enrolment_expires_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    token_hash: str | None = Field(default=None, sa_column=Column(String(64), unique=True))
    enrolled_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    disabled_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class Badge(SQLModel, table=True):
    """A badge registered to one user. Revoked (lost) badges stay, so their use is recognised."""

    __tablename__ = "badge"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user.id"), nullable=False, index=True)
    )
    badge_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    label: str = Field(sa_column=Column(String(16), nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_by: str = Field(sa_column=Column(String(64), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    revoked_by: str | None = Field(default=None, sa_column=Column(String(64)))
    revoke_reason: str | None = Field(default=None, sa_column=Column(String(2000)))


class UserSession(SQLModel, table=True):
    """A signed-in person: at a desk (password) or at a station (badge + PIN)."""

    __tablename__ = "user_session"
    __table_args__ = (
        # One person per station: at most one open session per station, decided by the database.
        Index(
            "uq_user_session_open_station",
            "station_id",
            unique=True,
            postgresql_where=text("ended_at IS NULL"),
            sqlite_where=text("ended_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user.id"), nullable=False, index=True)
    )
    token_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    method: SignInMethod = Field(sa_column=Column(String(16), nullable=False))
    station_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("station.id"))
    )
    badge_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("badge.id")))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    last_seen_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    idle_until: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    expires_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    end_reason: str | None = Field(default=None, sa_column=Column(String(32)))
    ended_by: str | None = Field(default=None, sa_column=Column(String(64)))


# --- what the outside world sends and sees ----------------------------------------------------


class SignIn(SQLModel):
    username: Annotated[str, StringConstraints(min_length=1, max_length=64), Normalised]
    password: AnyPassword


class BadgeSignIn(SQLModel):
    badge: BadgeId
    pin: AnyPin


class SessionPublic(SQLModel):
    id: int
    user: str
    method: SignInMethod
    station: str | None
    badge: int | None
    created_at: datetime
    last_seen_at: datetime
    idle_until: datetime
    expires_at: datetime
    ended_at: datetime | None
    end_reason: str | None
    active: bool


class SignedIn(SQLModel):
    """A new session. Send `csrf_token` as `X-CSRF-Token` on every state-changing request made
    with the session cookie."""

    session: SessionPublic
    user: UserPublic
    csrf_token: str


class StationCreate(SQLModel):
    name: Code
    location: Name
    kind: StationKind


class StationPublic(SQLModel):
    id: int
    name: str
    location: str
    kind: StationKind
    created_at: datetime
    created_by: str
    enrolled: bool
    enrolled_at: datetime | None
    disabled_at: datetime | None


class EnrolmentIssued(SQLModel):
    """A one-time code, shown once. It expires unused at `expires_at`."""

    code: str
    expires_at: datetime


class StationCreated(SQLModel):
    station: StationPublic
    enrolment: EnrolmentIssued


class StationEnrol(SQLModel):
    code: Secret


class StationEnrolled(SQLModel):
    """The station credential is set as an HttpOnly cookie; send `csrf_token` as `X-CSRF-Token`
    on every state-changing request this station makes."""

    station: StationPublic
    csrf_token: str


class StationNow(SQLModel):
    station: StationPublic
    signed_in: str | None
    csrf_token: str


class BadgeCreate(SQLModel):
    badge: BadgeId


class BadgePublic(SQLModel):
    id: int
    user: str
    label: str
    created_at: datetime
    created_by: str
    revoked_at: datetime | None
    revoked_by: str | None
    revoke_reason: str | None


class BadgeRevoke(SQLModel):
    reason: Reason


class UserCreated(UserPublic):
    """The new user and the one-time code they exchange to set their own password."""

    enrolment: EnrolmentIssued


class Enrol(SQLModel):
    """Exchange your enrolment code once: set your password (required), optionally your PIN,
    and optionally get an API key of your own (shown once)."""

    username: Annotated[str, StringConstraints(min_length=1, max_length=64), Normalised]
    code: Secret
    password: Password
    pin: Pin | None = None
    key: bool = False


class Enrolled(SQLModel):
    user: UserPublic
    key: KeyCreated | None = None
