"""The audit trail: one append-only, hash-chained table, and the head of its chain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field as PydanticField
from sqlalchemy import JSON, BigInteger, Column, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from models.base import UtcDateTime

GENESIS_HASH = "0" * 64


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_event"
    __table_args__ = (
        Index(None, "entity_type", "entity_id"),
        Index(None, "at"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True),
    )
    seq: int | None = Field(default=None, sa_column=Column(BigInteger, unique=True))
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    actor: str | None = Field(default=None, sa_column=Column(String(64), index=True))
    action: str = Field(sa_column=Column(String(64), nullable=False))
    entity_type: str = Field(sa_column=Column(String(32), nullable=False))
    entity_id: str = Field(sa_column=Column(String(64), nullable=False))
    before: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    after: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    reason: str | None = Field(default=None, sa_column=Column(Text))
    signature: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    # How the actor was known: {"kind": "key", "key_id": 3}, {"kind": "session", ...}, ...
    credential: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    prev_hash: str | None = Field(default=None, sa_column=Column(String(64)))
    hash: str | None = Field(default=None, sa_column=Column(String(64)))


class AuditHead(SQLModel, table=True):
    """One row: the last sequenced event. Locking it serialises the chain."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, primary_key=True)
    seq: int = Field(sa_column=Column(BigInteger, nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class AuditEventPublic(SQLModel):
    seq: int | None
    at: str
    actor: str | None
    action: str
    entity_type: str
    entity_id: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    reason: str | None
    signature: dict[str, Any] | None
    # Shown, and hashed, only when the event has one: events before it existed hash as before.
    credential: dict[str, Any] | None = PydanticField(
        default=None, exclude_if=lambda value: value is None
    )
    prev_hash: str | None
    hash: str | None


class ChainHead(SQLModel):
    seq: int
    hash: str


class VerifyResult(SQLModel):
    ok: bool
    events: int | None = None
    head: ChainHead | None = None
    first_bad_seq: int | None = None
    detail: str | None = None
