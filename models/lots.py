"""Lots (each receipt of a supplier lot), stock write-offs, recalls, and code counters."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field as PydanticField
from pydantic import StrictBool, StrictInt
from sqlalchemy import (
    JSON,
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from models.base import Day, Identifier20, Name, Reason, Reference, ShortText, UtcDateTime
from models.labels import LabelCounts
from models.signatures import SignatureIn

Quantity = Annotated[StrictInt, PydanticField(ge=1, le=10_000_000)]
SupplierLot = Identifier20
CoaRef = ShortText
Barcode = Annotated[str, PydanticField(min_length=1, max_length=512)]


class LotStatus(StrEnum):
    quarantined = "quarantined"
    released = "released"
    rejected = "rejected"
    recalled = "recalled"


TRANSITIONS: dict[LotStatus, frozenset[LotStatus]] = {
    LotStatus.quarantined: frozenset({LotStatus.released, LotStatus.rejected, LotStatus.recalled}),
    LotStatus.released: frozenset({LotStatus.quarantined, LotStatus.rejected, LotStatus.recalled}),
    LotStatus.rejected: frozenset({LotStatus.recalled}),
    LotStatus.recalled: frozenset(),
}


class Counter(SQLModel, table=True):
    """Named counters for the codes the service assigns (lot codes, unit barcodes)."""

    __tablename__ = "counter"

    name: str = Field(sa_column=Column(String(32), primary_key=True))
    value: int = Field(sa_column=Column(BigInteger, nullable=False))


class Lot(SQLModel, table=True):
    __tablename__ = "lot"
    __table_args__ = (
        CheckConstraint(
            "status IN ('quarantined', 'released', 'rejected', 'recalled')", name="status"
        ),
        CheckConstraint("quantity_received > 0", name="quantity_received_positive"),
        CheckConstraint("quantity_left >= 0", name="quantity_left_not_negative"),
        CheckConstraint("quantity_left <= quantity_received", name="quantity_left_bounded"),
        CheckConstraint("units_registered <= quantity_received", name="units_bounded"),
        Index(None, "component_type_id", "supplier_lot"),
        Index(None, "status", "expiry_date"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    component_type_id: int = Field(
        sa_column=Column(Integer, ForeignKey("component_type.id"), nullable=False)
    )
    supplier_lot: str = Field(sa_column=Column(String(20), nullable=False))
    supplier: str | None = Field(default=None, sa_column=Column(String(200)))
    quantity_received: int = Field(sa_column=Column(Integer, nullable=False))
    quantity_left: int = Field(sa_column=Column(Integer, nullable=False))
    units_registered: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    expiry_date: date | None = Field(default=None, sa_column=Column(Date))
    retest_date: date | None = Field(default=None, sa_column=Column(Date))
    manufactured_on: date | None = Field(default=None, sa_column=Column(Date))
    coa_ref: str | None = Field(default=None, sa_column=Column(String(100)))
    status: str = Field(sa_column=Column(String(12), nullable=False))
    received_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    received_by: str = Field(sa_column=Column(String(64), nullable=False))
    release: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    source_batch_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("batch.id"), index=True)
    )


class LotAdjustment(SQLModel, table=True):
    """Stock written off a lot-tracked lot: counted as discarded in reconciliation."""

    __tablename__ = "lot_adjustment"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint(
            "reason_code IN ('damaged', 'qc_sample', 'destroyed', 'returned')", name="reason_code"
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(sa_column=Column(Integer, ForeignKey("lot.id"), nullable=False, index=True))
    quantity: int = Field(sa_column=Column(Integer, nullable=False))
    reason_code: str = Field(sa_column=Column(String(16), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    by: str = Field(sa_column=Column(String(64), nullable=False))
    signature: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


class Recall(SQLModel, table=True):
    __tablename__ = "recall"
    __table_args__ = (UniqueConstraint("component_type_id", "supplier_lot"),)

    id: int | None = Field(default=None, primary_key=True)
    component_type_id: int = Field(
        sa_column=Column(Integer, ForeignKey("component_type.id"), nullable=False)
    )
    supplier_lot: str = Field(sa_column=Column(String(20), nullable=False))
    notice_ref: str = Field(sa_column=Column(String(100), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_by: str = Field(sa_column=Column(String(64), nullable=False))
    signature: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))
    lots: list[int] = Field(sa_column=Column(JSON, nullable=False))
    impact: dict[str, Any] = Field(sa_column=Column(JSON, nullable=False))


# --- the schema family: what the API takes and gives ---------------------------------------


class LotCreate(SQLModel):
    component_type: Reference
    supplier_lot: SupplierLot
    quantity: Quantity
    expiry_date: Day | None = None
    supplier: Name | None = None
    retest_date: Day | None = None
    manufactured_on: Day | None = None
    coa_ref: CoaRef | None = None


class ReceiptScan(SQLModel):
    """The raw string of the supplier's label, and what the label does not carry. A date the
    label carries may be repeated here only with the same value."""

    barcode: Barcode
    quantity: Quantity
    supplier: Name | None = None
    coa_ref: CoaRef | None = None
    expiry_date: Day | None = None
    retest_date: Day | None = None
    manufactured_on: Day | None = None


class Warning(SQLModel):
    code: str
    message: str
    lots: list[dict[str, Any]] | None = None


class Release(SQLModel):
    signature: dict[str, Any]
    inspection: dict[str, bool]


class LotPublic(SQLModel):
    id: int
    code: str
    component_type: str
    supplier_lot: str
    supplier: str | None
    quantity_received: int
    quantity_left: int
    expiry_date: date | None
    retest_date: date | None
    manufactured_on: date | None
    coa_ref: str | None
    status: LotStatus
    received_at: datetime
    received_by: str
    source_batch: str | None = None
    release: Release | None = None
    labels: LabelCounts
    """Printed labels issued against the lot: issued = applied + voided + outstanding. Not part
    of the lot's audit snapshots (labels have their own events)."""


class LotCreated(LotPublic):
    warnings: list[Warning]


class Inspection(SQLModel):
    coa_reviewed: StrictBool
    packaging_intact: StrictBool
    label_correct: StrictBool


class LotStatusChange(SQLModel):
    status: LotStatus
    reason: Reason
    inspection: Inspection | None = None
    signature: SignatureIn


class LotStatusChanged(LotPublic):
    flags_raised: list[dict[str, Any]]


class LotChanges(SQLModel):
    model_config = {"extra": "forbid"}

    supplier_lot: SupplierLot | None = None
    expiry_date: Day | None = None
    retest_date: Day | None = None
    manufactured_on: Day | None = None
    supplier: Name | None = None
    coa_ref: CoaRef | None = None


class LotCorrection(SQLModel):
    changes: LotChanges
    reason: Reason
    signature: SignatureIn


class LotAdjust(SQLModel):
    quantity: Quantity
    reason_code: Literal["damaged", "qc_sample", "destroyed", "returned"]
    reason: Reason
    signature: SignatureIn


class Reconciliation(SQLModel):
    lot: int
    lot_code: str
    received: int
    consumed: int
    discarded: int
    on_hand: int


class RecallCreate(SQLModel):
    component_type: Reference
    supplier_lot: SupplierLot
    notice_ref: ShortText
    reason: Reason
    signature: SignatureIn


class RecallPublic(SQLModel):
    id: int
    component_type: str
    supplier_lot: str
    notice_ref: str
    reason: str
    created_at: datetime
    created_by: str
    signature: dict[str, Any]
    lots: list[int]
    impact: dict[str, Any]
