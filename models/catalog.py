"""Component types: what a bag, tubing set, filter or connector is, and how it is tracked."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import Field as PydanticField
from pydantic import StrictBool, StrictInt, ValidationInfo, field_validator
from sqlalchemy import CheckConstraint, Column, Integer, String
from sqlmodel import Field, SQLModel

from models.base import Code, Name, Reason, ShortText, UtcDateTime
from models.signatures import SignatureIn


class Tracking(StrEnum):
    serial = "serial"
    lot = "lot"


class Risk(StrEnum):
    high = "high"
    medium = "medium"
    low = "low"


# The check digit is verified by the service (services.gs1), which stores the 14-digit form.
Gtin = Annotated[str, PydanticField(pattern=r"^[0-9]{8}$|^[0-9]{12,14}$")]
WarningDays = Annotated[StrictInt, PydanticField(ge=0, le=3650)]
HoldHours = Annotated[StrictInt, PydanticField(ge=1, le=24 * 3650)]


class ComponentType(SQLModel, table=True):
    __tablename__ = "component_type"
    __table_args__ = (
        CheckConstraint("tracking IN ('serial', 'lot')", name="tracking"),
        CheckConstraint("risk IN ('high', 'medium', 'low')", name="risk"),
    )

    id: int | None = Field(default=None, primary_key=True)
    code: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    name: str = Field(sa_column=Column(String(200), nullable=False))
    category: str = Field(sa_column=Column(String(100), nullable=False))
    tracking: str = Field(sa_column=Column(String(8), nullable=False))
    risk: str = Field(sa_column=Column(String(8), nullable=False))
    gtin: str | None = Field(default=None, sa_column=Column(String(14), unique=True))
    manufacturer: str | None = Field(default=None, sa_column=Column(String(200)))
    catalog_number: str | None = Field(default=None, sa_column=Column(String(100)))
    has_expiry: bool = True
    expiry_warning_days: int = Field(default=30, sa_column=Column(Integer, nullable=False))
    is_assembly: bool = False
    hold_hours: int | None = Field(default=None, sa_column=Column(Integer))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_by: str = Field(sa_column=Column(String(64), nullable=False))


class ComponentTypeCreate(SQLModel):
    code: Code
    name: Name
    category: ShortText
    tracking: Tracking
    risk: Risk
    gtin: Gtin | None = None
    manufacturer: Name | None = None
    catalog_number: ShortText | None = None
    has_expiry: StrictBool = True
    expiry_warning_days: WarningDays = 30
    is_assembly: StrictBool = False
    hold_hours: HoldHours | None = None

    @field_validator("hold_hours")
    @classmethod
    def _hold_for_assemblies(cls, value: int | None, info: ValidationInfo) -> int | None:
        if value is not None and not info.data.get("is_assembly", False):
            raise ValueError("hold_hours applies only to assembly types (is_assembly: true)")
        return value


class ComponentTypeChanges(SQLModel):
    """What a signed correction may change. Code, tracking and is_assembly are fixed for life."""

    model_config = {"extra": "forbid"}

    name: Name | None = None
    category: ShortText | None = None
    risk: Risk | None = None
    gtin: Gtin | None = None
    manufacturer: Name | None = None
    catalog_number: ShortText | None = None
    has_expiry: StrictBool | None = None
    expiry_warning_days: WarningDays | None = None
    hold_hours: HoldHours | None = None


class ComponentTypeCorrection(SQLModel):
    changes: ComponentTypeChanges
    reason: Reason
    signature: SignatureIn


class ComponentTypePublic(SQLModel):
    code: str
    name: str
    category: str
    tracking: Tracking
    risk: Risk
    gtin: str | None
    manufacturer: str | None
    catalog_number: str | None
    has_expiry: bool
    expiry_warning_days: int
    is_assembly: bool
    hold_hours: int | None
    created_at: datetime
    created_by: str
