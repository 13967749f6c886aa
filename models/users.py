"""Users, their API keys and their roles."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, StringConstraints
from sqlalchemy import Column, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel

from models.base import Name, UtcDateTime, no_control_characters


class Role(StrEnum):
    operator = "operator"
    supervisor = "supervisor"
    warehouse = "warehouse"
    qa = "qa"
    auditor = "auditor"
    admin = "admin"


Username = Annotated[str, StringConstraints(pattern=r"^[a-z0-9._-]{1,64}$")]
Password = Annotated[
    str, StringConstraints(min_length=12, max_length=256), AfterValidator(no_control_characters)
]
AnyPassword = Annotated[
    str, StringConstraints(min_length=1, max_length=256), AfterValidator(no_control_characters)
]


class User(SQLModel, table=True):
    __tablename__ = "user"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    full_name: str = Field(sa_column=Column(String(200), nullable=False))
    role: Role = Field(sa_column=Column(String(16), nullable=False))
    password_hash: str | None = Field(default=None, sa_column=Column(String(255)))
    password_temporary: bool = True
    active: bool = True
    failed_signatures: int = 0
    signing_locked: bool = False
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
    username: Username
    full_name: Name
    role: Role
    password: Password


class UserPublic(SQLModel):
    username: str
    full_name: str
    role: Role
    active: bool
    signing_locked: bool
    password_temporary: bool
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
