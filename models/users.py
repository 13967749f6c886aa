"""Users, their API keys, their roles, and the secrets only they set (password, PIN)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, StringConstraints, field_validator
from sqlalchemy import Column, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel

from models.base import Name, Normalised, UtcDateTime, no_control_characters


class Role(StrEnum):
    operator = "operator"
    supervisor = "supervisor"
    warehouse = "warehouse"
    qa = "qa"
    auditor = "auditor"
    admin = "admin"


Username = Annotated[str, StringConstraints(pattern=r"^[a-z0-9._-]{1,64}$"), Normalised]
Password = Annotated[
    str, StringConstraints(min_length=12, max_length=256), AfterValidator(no_control_characters)
]
AnyPassword = Annotated[
    str, StringConstraints(min_length=1, max_length=256), AfterValidator(no_control_characters)
]
Pin = Annotated[str, StringConstraints(pattern=r"^[0-9]{4,12}$")]
"""A PIN: 4 to 12 digits, set by its owner, stored as an argon2 hash."""
AnyPin = Annotated[str, StringConstraints(min_length=1, max_length=64)]


class User(SQLModel, table=True):
    __tablename__ = "user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    full_name: str = Field(sa_column=Column(String(200), nullable=False))
    role: Role = Field(sa_column=Column(String(16), nullable=False))
    password_hash: str | None = Field(default=None, sa_column=Column(String(255)))
    password_temporary: bool = True
    active: bool = True
    # Wrong passwords in a row, at sign-in or signature alike; 5 lock the password.
    failed_signatures: int = 0
    signing_locked: bool = False
    pin_hash: str | None = Field(default=None, sa_column=Column(String(255)))
    failed_pins: int = 0
    pin_locked: bool = False
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_by: str | None = Field(default=None, sa_column=Column(String(64)))


class ApiKey(SQLModel, table=True):
    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(
        sa_column=Column(Integer, ForeignKey("user.id"), nullable=False, index=True)
    )
    key_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class UserCreate(SQLModel):
    """A new user. The answer carries a one-time enrolment code for them: only they set their
    password (and PIN), so an admin never knows a secret that acts as someone else."""

    username: Username
    full_name: Name
    role: Role
    password: str | None = Field(
        default=None,
        description="No longer accepted: give the user the enrolment code from the answer.",
        schema_extra={"deprecated": True},
    )

    @field_validator("password")
    @classmethod
    def _no_admin_password(cls, value: str | None) -> None:
        if value is not None:
            raise ValueError(
                "admins no longer set passwords; create the user without one and give them the "
                "enrolment code from the answer (POST /api/v1/enrolment)"
            )
        return None


class UserPublic(SQLModel):
    username: str
    full_name: str
    role: Role
    active: bool
    signing_locked: bool
    password_temporary: bool
    has_pin: bool = False
    pin_locked: bool = False
    created_at: datetime


class Me(SQLModel):
    username: str
    full_name: str
    role: Role


class PasswordChange(SQLModel):
    current_password: AnyPassword
    new_password: Password


class KeyCreated(SQLModel):
    id: int
    key: str


class KeyRequest(SQLModel):
    """Your own password: a new key is a credential, issued to the person who proves it."""

    password: AnyPassword


class KeyPublic(SQLModel):
    id: int
    user: str
    created_at: datetime
    revoked_at: datetime | None


class PinSet(SQLModel):
    current_password: AnyPassword
    pin: Pin
