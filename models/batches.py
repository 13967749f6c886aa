"""Batches (a CAR-T or vector batch made on the line), their BOM lines, and batch flags."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field as PydanticField
from pydantic import StrictInt
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlmodel import Field, SQLModel

from models.base import Code, Day, Name, Reason, Reference, UtcDateTime
from models.lots import CoaRef, Quantity, SupplierLot
from models.scans import FlagCode
from models.signatures import SignatureIn

CoiText = Annotated[str, PydanticField(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9._:-]+$")]


class BatchStatus(StrEnum):
    planned = "planned"
    in_progress = "in_progress"
    completed = "completed"
    aborted = "aborted"


class Batch(SQLModel, table=True):
    __tablename__ = "batch"
    __table_args__ = (
        CheckConstraint(
            "status IN ('planned', 'in_progress', 'completed', 'aborted')", name="status"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    batch_number: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    product: str = Field(sa_column=Column(String(200), nullable=False))
    coi: str | None = Field(default=None, sa_column=Column(String(64), index=True))
    status: str = Field(sa_column=Column(String(12), nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_by: str = Field(sa_column=Column(String(64), nullable=False))
    started_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    ended_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    completion: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


class BomLine(SQLModel, table=True):
    __tablename__ = "bom_line"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(
        sa_column=Column(Integer, ForeignKey("batch.id"), nullable=False, index=True)
    )
    step: str | None = Field(default=None, sa_column=Column(String(64)))
    component_type_id: int = Field(
        sa_column=Column(Integer, ForeignKey("component_type.id"), nullable=False)
    )
    quantity: int = Field(sa_column=Column(Integer, nullable=False))


class FlagStatus(StrEnum):
    open = "open"
    resolved = "resolved"


class BatchFlag(SQLModel, table=True):
    """A flag on a batch: a deviation from an override, or a lot whose status changed after use."""

    __tablename__ = "batch_flag"
    __table_args__ = (
        CheckConstraint("status IN ('open', 'resolved')", name="status"),
        CheckConstraint("severity IN ('block', 'warn')", name="severity"),
        # One open flag per batch, lot and code: a lot quarantined twice flags a batch once.
        Index(
            "uq_batch_flag_open_batch_lot_code",
            "batch_id",
            "lot_id",
            "code",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
        Index(None, "status", "batch_id"),
        Index(None, "batch_id", "id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    batch_id: int = Field(sa_column=Column(Integer, ForeignKey("batch.id"), nullable=False))
    code: str = Field(sa_column=Column(String(32), nullable=False))
    severity: str = Field(sa_column=Column(String(8), nullable=False))
    status: str = Field(sa_column=Column(String(12), nullable=False))
    message: str = Field(sa_column=Column(Text, nullable=False))
    lot_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("lot.id")))
    unit_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("unit.id")))
    scan_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("scan.id")))
    deviation_ref: str | None = Field(default=None, sa_column=Column(String(100)))
    raised_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    resolved_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    resolved_by: str | None = Field(default=None, sa_column=Column(String(64)))
    resolution: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


# --- the schema family ------------------------------------------------------------------------


class BomLineIn(SQLModel):
    step: Annotated[str, PydanticField(min_length=1, max_length=64)] | None = None
    component_type: Reference
    quantity: Quantity


class BatchCreate(SQLModel):
    batch_number: Code
    product: Name
    coi: CoiText | None = None
    bom: Annotated[list[BomLineIn], PydanticField(max_length=200)] | None = None


class BomLinePublic(SQLModel):
    """A BOM line, planned (`quantity`) against what accepted, unreversed scans consumed. A scan
    without a step counts against every line of its type, as the line's check lets it."""

    step: str | None
    component_type: str
    quantity: int
    consumed: int = 0
    remaining: int = 0


class BatchPublic(SQLModel):
    batch_number: str
    product: str
    coi: str | None
    status: BatchStatus
    bom: list[BomLinePublic]
    created_at: datetime
    created_by: str
    started_at: datetime | None
    ended_at: datetime | None
    completion: dict[str, Any] | None
    open_blocking_flags: int


class BatchComplete(SQLModel):
    justification: Reason | None = None
    signature: SignatureIn


class BatchAbort(SQLModel):
    reason: Reason
    signature: SignatureIn


class BatchOutput(SQLModel):
    component_type: Reference
    supplier_lot: SupplierLot
    quantity: Quantity
    expiry_date: Day
    coa_ref: CoaRef | None = None


class FlagPublic(SQLModel):
    id: int
    code: FlagCode
    severity: Literal["block", "warn"]
    status: FlagStatus
    message: str
    batch: str
    lot_id: int | None
    lot_code: str | None
    unit: str | None
    scan_id: int | None
    deviation_ref: str | None
    raised_at: datetime
    resolved_at: datetime | None
    resolved_by: str | None
    resolution: dict[str, Any] | None


class WhereUsed(SQLModel):
    batch: str
    status: BatchStatus
    coi: str | None
    depth: int
    path: list[str]


class FlagResolve(SQLModel):
    reason: Reason
    signature: SignatureIn


class FlagsResolve(SQLModel):
    ids: Annotated[
        list[Annotated[StrictInt, PydanticField(ge=1, le=2**31 - 1)]],
        PydanticField(min_length=1, max_length=1000),
    ]
    reason: Reason
    signature: SignatureIn
