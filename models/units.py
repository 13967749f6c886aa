"""Units: one physical serial-tracked item (a bag, a kit), with a barcode the service assigns."""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field as PydanticField
from pydantic import StrictInt, model_validator
from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from models.base import Identifier20, Identifier512, Reason, Reference, UtcDateTime
from models.lots import LotCreated

Serial = Identifier20


class UnitStatus(StrEnum):
    available = "available"
    consumed = "consumed"
    discarded = "discarded"


class Unit(SQLModel, table=True):
    __tablename__ = "unit"
    __table_args__ = (
        CheckConstraint("status IN ('available', 'consumed', 'discarded')", name="status"),
        UniqueConstraint("component_type_id", "serial"),
    )

    id: int | None = Field(default=None, primary_key=True)
    barcode: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    serial: str | None = Field(default=None, sa_column=Column(String(20)))
    lot_id: int = Field(sa_column=Column(Integer, ForeignKey("lot.id"), nullable=False, index=True))
    component_type_id: int = Field(
        sa_column=Column(Integer, ForeignKey("component_type.id"), nullable=False)
    )
    status: str = Field(sa_column=Column(String(12), nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_by: str = Field(sa_column=Column(String(64), nullable=False))
    discarded_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    discard_reason_code: str | None = Field(default=None, sa_column=Column(String(16)))
    discard_reason: str | None = Field(default=None, sa_column=Column(Text))


class AssemblyPart(SQLModel, table=True):
    """A part built into an assembly: a unit, or a quantity of a lot-tracked lot."""

    __tablename__ = "assembly_part"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: int | None = Field(default=None, primary_key=True)
    assembly_unit_id: int = Field(
        sa_column=Column(Integer, ForeignKey("unit.id"), nullable=False, index=True)
    )
    part_unit_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("unit.id"), unique=True)
    )
    part_lot_id: int = Field(
        sa_column=Column(Integer, ForeignKey("lot.id"), nullable=False, index=True)
    )
    quantity: int = Field(sa_column=Column(Integer, nullable=False))


MAX_UNITS_PER_CALL = 100_000


class UnitsCreate(SQLModel):
    """Either a count of new units or the supplier's serials, one unit each."""

    count: Annotated[StrictInt, PydanticField(ge=1, le=MAX_UNITS_PER_CALL)] | None = None
    serials: (
        Annotated[list[Serial], PydanticField(min_length=1, max_length=MAX_UNITS_PER_CALL)] | None
    ) = None

    @model_validator(mode="after")
    def _one_of(self) -> UnitsCreate:
        if (self.count is None) == (self.serials is None):
            raise ValueError("give either 'count' or 'serials', not both and not neither")
        if self.serials is not None and len(set(self.serials)) != len(self.serials):
            counts = Counter(self.serials)
            dupes = sorted(s for s, n in counts.items() if n > 1)
            raise ValueError(f"serials repeat within the request: {', '.join(dupes[:10])}")
        return self


class UnitPublic(SQLModel):
    id: int
    barcode: str
    serial: str | None
    lot: int
    lot_code: str
    component_type: str
    status: UnitStatus
    expiry_date: date | None
    usable: bool
    blocking: list[str]


class UnitList(SQLModel):
    items: list[UnitPublic]


class ReceiptScanned(LotCreated):
    """A receipt by scan: the lot, and the unit its (21) registered (none without one)."""

    units: list[UnitPublic]


class UnitDiscard(SQLModel):
    reason_code: Literal["damaged", "dropped", "expired", "other"]
    reason: Reason


class AssemblyComponent(SQLModel):
    barcode: Identifier512 | None = None
    lot_id: Annotated[StrictInt, PydanticField(ge=1, le=2**31 - 1)] | None = None
    quantity: Annotated[StrictInt, PydanticField(ge=1, le=10_000_000)] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> AssemblyComponent:
        if (self.barcode is None) == (self.lot_id is None):
            raise ValueError("give either 'barcode' (a unit) or 'lot_id' with 'quantity'")
        if self.lot_id is not None and self.quantity is None:
            raise ValueError("a lot part needs 'quantity'")
        if self.barcode is not None and self.quantity is not None:
            raise ValueError("a unit part takes no 'quantity'")
        return self


class AssemblyCreate(SQLModel):
    component_type: Reference
    components: Annotated[list[AssemblyComponent], PydanticField(min_length=1, max_length=200)]


class UnitEvent(SQLModel):
    at: datetime
    event: str
    actor: str | None
    detail: str
    reason: str | None = None
    data: dict[str, object] | None = None
