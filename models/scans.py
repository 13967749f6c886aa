"""Scans at the line: every attempt to use a component in a batch, accepted or blocked."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import Field as PydanticField
from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel
from typing_extensions import TypedDict

from models.base import Reason, Reference, ShortText, UtcDateTime
from models.lots import Quantity
from models.signatures import SignatureIn

ACCEPTED = "accepted"
BLOCKED = "blocked"
ClientScanId = Annotated[str, PydanticField(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
Step = Annotated[str, PydanticField(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")]


class FlagCode(StrEnum):
    """Every code a flag on a scan or a batch can carry (the line's flag table, and the batch
    flag raised when a lot's status changes after use)."""

    UNKNOWN_BARCODE = "UNKNOWN_BARCODE"
    UNPARSEABLE_BARCODE = "UNPARSEABLE_BARCODE"
    REJECTED = "REJECTED"
    RECALLED = "RECALLED"
    QUARANTINED = "QUARANTINED"
    SOURCE_BATCH_FLAGGED = "SOURCE_BATCH_FLAGGED"
    EXPIRED = "EXPIRED"
    RETEST_DUE = "RETEST_DUE"
    EXPIRES_SOON = "EXPIRES_SOON"
    ALREADY_USED = "ALREADY_USED"
    INSUFFICIENT_QUANTITY = "INSUFFICIENT_QUANTITY"
    SERIAL_REQUIRED = "SERIAL_REQUIRED"
    AMBIGUOUS_LOT = "AMBIGUOUS_LOT"
    LABEL_MISMATCH = "LABEL_MISMATCH"
    WRONG_COMPONENT = "WRONG_COMPONENT"
    OVER_BOM_QUANTITY = "OVER_BOM_QUANTITY"
    BATCH_NOT_ACTIVE = "BATCH_NOT_ACTIVE"
    LOT_STATUS_CHANGED_AFTER_USE = "LOT_STATUS_CHANGED_AFTER_USE"


class ScanFlag(TypedDict):
    """One reason on a scan: `block` refuses it, `warn` lets it through with a warning. A plain
    dict at run time (scans store and answer them as such); typed for the schema."""

    code: FlagCode
    severity: Literal["block", "warn"]
    message: str


class Scan(SQLModel, table=True):
    __tablename__ = "scan"
    __table_args__ = (
        CheckConstraint("outcome IN ('accepted', 'blocked')", name="outcome"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        UniqueConstraint("actor", "client_scan_id"),
        # A serial unit is consumed once: at most one accepted, unreversed scan per unit.
        Index(
            "uq_scan_unit_accepted",
            "unit_id",
            unique=True,
            sqlite_where=text("outcome = 'accepted' AND reversed_at IS NULL"),
            postgresql_where=text("outcome = 'accepted' AND reversed_at IS NULL"),
        ),
        Index(None, "batch_id", "id"),
        Index(None, "lot_id"),
        # The genealogy walks: accepted, unreversed scans by lot and by batch.
        Index(
            "ix_scan_used_lot",
            "lot_id",
            "batch_id",
            sqlite_where=text("outcome = 'accepted' AND reversed_at IS NULL"),
            postgresql_where=text("outcome = 'accepted' AND reversed_at IS NULL"),
        ),
        Index(
            "ix_scan_used_batch",
            "batch_id",
            "lot_id",
            sqlite_where=text("outcome = 'accepted' AND reversed_at IS NULL"),
            postgresql_where=text("outcome = 'accepted' AND reversed_at IS NULL"),
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    barcode: str = Field(sa_column=Column(Text, nullable=False))
    outcome: str = Field(sa_column=Column(String(8), nullable=False))
    flags: list[dict[str, Any]] = Field(sa_column=Column(JSON, nullable=False))
    batch_id: int = Field(sa_column=Column(Integer, ForeignKey("batch.id"), nullable=False))
    step: str | None = Field(default=None, sa_column=Column(String(64)))
    station: str | None = Field(default=None, sa_column=Column(String(64)))
    quantity: int = Field(sa_column=Column(Integer, nullable=False))
    unit_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("unit.id")))
    lot_id: int | None = Field(default=None, sa_column=Column(Integer, ForeignKey("lot.id")))
    lot_status_at_scan: str | None = Field(default=None, sa_column=Column(String(12)))
    expiry_at_scan: date | None = Field(default=None, sa_column=Column(Date))
    actor: str = Field(sa_column=Column(String(64), nullable=False))
    at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    client_scan_id: str | None = Field(default=None, sa_column=Column(String(64)))
    request_hash: str | None = Field(default=None, sa_column=Column(String(64)))
    response_status: int = Field(sa_column=Column(Integer, nullable=False))
    override: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    reversal: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))
    reversed_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class ScanCreate(SQLModel):
    barcode: Annotated[str, PydanticField(min_length=1, max_length=514)]
    batch: Reference
    step: Step | None = None
    station: Step | None = None
    quantity: Quantity | None = None
    client_scan_id: ClientScanId | None = None


class ScanPublic(SQLModel):
    id: int
    barcode: str
    outcome: str
    flags: list[ScanFlag]
    batch: str
    step: str | None
    station: str | None
    quantity: int
    unit: str | None
    lot: int | None
    lot_code: str | None
    component_type: str | None
    lot_status_at_scan: str | None
    expiry_at_scan: date | None
    actor: str
    at: datetime
    client_scan_id: str | None
    override: dict[str, Any] | None
    reversal: dict[str, Any] | None


class ScanAccepted(SQLModel):
    id: int
    outcome: Literal["accepted"]
    flags: list[ScanFlag]
    unit: str | None
    lot: int | None
    lot_code: str | None
    component_type: str | None
    batch: str
    quantity: int
    step: str | None
    station: str | None
    at: str


class ScanCheck(SQLModel):
    """What `POST /scans` would answer now (`status`: 201, 404, 409 or 422), every flag,
    blocking and warning; nothing was stored or consumed."""

    outcome: Literal["accepted", "blocked"]
    status: int
    flags: list[ScanFlag]
    unit: str | None
    lot: int | None
    lot_code: str | None
    component_type: str | None
    batch: str
    quantity: int
    step: str | None
    station: str | None


class ScanOverride(SQLModel):
    reason: Reason
    deviation_ref: ShortText
    signature: SignatureIn


class ScanReverse(SQLModel):
    reason: Reason
    disposition: Literal["return", "discard"]
    signature: SignatureIn
