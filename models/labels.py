"""Label printers, ZPL template versions, print jobs and the labels they issued."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field as PydanticField
from pydantic import StrictInt, model_validator
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlmodel import Field, SQLModel

from models.base import Code, Reason, UtcDateTime
from models.signatures import SignatureIn

StockName = Literal["100x50mm", "4x2in", "2x1in"]
SymbologyName = Literal["auto", "gs1-128", "datamatrix"]
LabelKind = Literal["lot", "unit"]
Host = Annotated[
    str,
    PydanticField(
        min_length=1,
        max_length=253,
        pattern=r"^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?)$",
    ),
]
ClientJobId = Annotated[str, PydanticField(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]
MAX_LABELS_PER_JOB = 1000


class Printer(SQLModel, table=True):
    __tablename__ = "printer"
    __table_args__ = (
        CheckConstraint("port BETWEEN 1 AND 65535", name="port"),
        CheckConstraint("dpi IN (203, 300)", name="dpi"),
        CheckConstraint("stock IN ('100x50mm', '4x2in', '2x1in')", name="stock"),
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    host: str = Field(sa_column=Column(String(253), nullable=False))
    port: int = Field(sa_column=Column(Integer, nullable=False))
    dpi: int = Field(sa_column=Column(Integer, nullable=False))
    stock: str = Field(sa_column=Column(String(16), nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_by: str = Field(sa_column=Column(String(64), nullable=False))


class LabelTemplate(SQLModel, table=True):
    """A registered version of a ZPL template file: its bytes, their SHA-256, who and why."""

    __tablename__ = "label_template"
    __table_args__ = (UniqueConstraint("name", "version"), UniqueConstraint("name", "sha256"))

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(sa_column=Column(String(16), nullable=False))
    version: int = Field(sa_column=Column(Integer, nullable=False))
    sha256: str = Field(sa_column=Column(String(64), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    registered_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    registered_by: str = Field(sa_column=Column(String(64), nullable=False))
    reason: str = Field(sa_column=Column(Text, nullable=False))


class PrintJob(SQLModel, table=True):
    """Labels of one lot sent to a printer (ZPL) or made into a PDF sheet; the job is stored
    before its bytes leave, its outcome after."""

    __tablename__ = "print_job"
    __table_args__ = (
        CheckConstraint("kind IN ('lot', 'unit')", name="kind"),
        CheckConstraint("output IN ('printer', 'pdf')", name="output"),
        CheckConstraint("status IN ('sending', 'sent', 'failed')", name="status"),
        CheckConstraint("copies > 0", name="copies_positive"),
        CheckConstraint("output = 'pdf' OR printer_id IS NOT NULL", name="printer_given"),
    )

    id: int | None = Field(default=None, primary_key=True)
    client_job_id: str | None = Field(default=None, sa_column=Column(String(64), unique=True))
    request_hash: str = Field(sa_column=Column(String(64), nullable=False))
    lot_id: int = Field(sa_column=Column(Integer, ForeignKey("lot.id"), nullable=False, index=True))
    kind: str = Field(sa_column=Column(String(8), nullable=False))
    output: str = Field(sa_column=Column(String(8), nullable=False))
    printer_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("printer.id"), index=True)
    )
    stock: str = Field(sa_column=Column(String(16), nullable=False))
    dpi: int = Field(sa_column=Column(Integer, nullable=False))
    symbology: str = Field(sa_column=Column(String(16), nullable=False))
    paper: str | None = Field(default=None, sa_column=Column(String(8)))
    copies: int = Field(sa_column=Column(Integer, nullable=False))
    units: list[str] | None = Field(default=None, sa_column=Column(JSON))
    template_name: str | None = Field(default=None, sa_column=Column(String(16)))
    template_version: int | None = Field(default=None, sa_column=Column(Integer))
    template_sha256: str | None = Field(default=None, sa_column=Column(String(64)))
    reprint: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    reprint_reason: str | None = Field(default=None, sa_column=Column(Text))
    lot_status: str = Field(sa_column=Column(String(12), nullable=False))
    status: str = Field(sa_column=Column(String(8), nullable=False))
    failure: str | None = Field(default=None, sa_column=Column(Text))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    payload_sha256: str = Field(sa_column=Column(String(64), nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_by: str = Field(sa_column=Column(String(64), nullable=False))
    attempted_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    sent_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))


class Label(SQLModel, table=True):
    """One label of a print job, against its lot: pending until the job is sent, then issued,
    and in the end applied or voided; issued and not yet either is outstanding."""

    __tablename__ = "label"
    __table_args__ = (
        CheckConstraint("kind IN ('lot', 'unit')", name="kind"),
        CheckConstraint("status IN ('pending', 'issued', 'applied', 'voided')", name="status"),
        CheckConstraint("kind = 'lot' OR unit_id IS NOT NULL", name="unit_given"),
        Index(None, "lot_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    lot_id: int = Field(sa_column=Column(Integer, ForeignKey("lot.id"), nullable=False))
    unit_id: int | None = Field(
        default=None, sa_column=Column(Integer, ForeignKey("unit.id"), index=True)
    )
    print_job_id: int = Field(
        sa_column=Column(Integer, ForeignKey("print_job.id"), nullable=False, index=True)
    )
    kind: str = Field(sa_column=Column(String(8), nullable=False))
    reprint: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    lot_status: str = Field(sa_column=Column(String(12), nullable=False))
    status: str = Field(sa_column=Column(String(8), nullable=False))
    created_at: datetime = Field(sa_column=Column(UtcDateTime(), nullable=False))
    created_by: str = Field(sa_column=Column(String(64), nullable=False))
    issued_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    applied_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    applied_by: str | None = Field(default=None, sa_column=Column(String(64)))
    voided_at: datetime | None = Field(default=None, sa_column=Column(UtcDateTime()))
    voided_by: str | None = Field(default=None, sa_column=Column(String(64)))
    void_reason: str | None = Field(default=None, sa_column=Column(Text))
    void_signature: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON))


# --- the schema family: what the API takes and gives ---------------------------------------


class PrinterCreate(SQLModel):
    name: Code
    host: Host
    port: Annotated[StrictInt, PydanticField(ge=1, le=65535)] = 9100
    dpi: Literal[203, 300]
    stock: StockName


class PrinterPublic(SQLModel):
    id: int
    name: str
    host: str
    port: int
    dpi: int
    stock: StockName
    active: bool
    created_at: datetime
    created_by: str


class TemplateRegister(SQLModel):
    reason: Reason
    signature: SignatureIn


class TemplateVersion(SQLModel):
    name: str
    version: int
    sha256: str
    registered_at: datetime
    registered_by: str
    reason: str


class TemplateState(SQLModel):
    """A template file as deployed, and whether its bytes are a registered version."""

    name: str
    file_sha256: str
    registered_version: int | None
    versions: list[TemplateVersion]


class PrintRequest(SQLModel):
    """Labels of a lot (`kind="lot"`, `copies` of them) or of its units (`units`, default every
    available unit that has never had a label)."""

    kind: LabelKind
    copies: Annotated[StrictInt, PydanticField(ge=1, le=MAX_LABELS_PER_JOB)] | None = None
    units: (
        Annotated[
            list[Annotated[str, PydanticField(min_length=1, max_length=64)]],
            PydanticField(min_length=1, max_length=MAX_LABELS_PER_JOB),
        ]
        | None
    ) = None
    symbology: SymbologyName = "auto"
    reprint_reason: Reason | None = None
    client_job_id: ClientJobId | None = None

    @model_validator(mode="after")
    def _fits_kind(self) -> PrintRequest:
        if self.kind == "lot" and self.units is not None:
            raise ValueError("lot labels take 'copies', not 'units'")
        if self.kind == "unit" and self.copies is not None:
            raise ValueError("unit labels take 'units' (or none for every unlabelled unit)")
        if self.units is not None and len(set(self.units)) != len(self.units):
            raise ValueError("units repeat within the request")
        return self


class PrinterJobCreate(PrintRequest):
    printer: Code


class SheetCreate(PrintRequest):
    paper: Literal["a4", "letter"] = "a4"
    stock: StockName = "100x50mm"


class TemplateUsed(SQLModel):
    name: str
    version: int
    sha256: str


class PrintJobPublic(SQLModel):
    id: int
    client_job_id: str | None
    lot: int
    lot_code: str
    kind: LabelKind
    output: Literal["printer", "pdf"]
    printer: str | None
    stock: StockName
    dpi: int
    symbology: SymbologyName
    paper: str | None
    copies: int
    units: list[str] | None
    template: TemplateUsed | None
    reprint: bool
    reprint_reason: str | None
    lot_status: str
    status: Literal["sending", "sent", "failed"]
    failure: str | None
    attempts: int
    payload_sha256: str
    created_at: datetime
    created_by: str
    sent_at: datetime | None
    labels: list[int]


class LabelCounts(SQLModel):
    """issued = applied + voided + outstanding; reprints are counted within issued."""

    issued: int = 0
    applied: int = 0
    voided: int = 0
    outstanding: int = 0
    reprints: int = 0


class LabelPublic(SQLModel):
    id: int
    kind: LabelKind
    unit: str | None
    print_job: int
    reprint: bool
    lot_status: str
    status: Literal["pending", "issued", "applied", "voided"]
    created_by: str
    issued_at: datetime | None
    applied_at: datetime | None
    applied_by: str | None
    voided_at: datetime | None
    voided_by: str | None
    void_reason: str | None


class LotLabels(LabelCounts):
    lot: int
    lot_code: str
    labels: list[LabelPublic]


class LabelSelection(SQLModel):
    """Which outstanding labels: by id, by unit, or the `count` oldest outstanding lot labels."""

    labels: (
        Annotated[
            list[Annotated[StrictInt, PydanticField(ge=1, le=2**31 - 1)]],
            PydanticField(min_length=1, max_length=MAX_LABELS_PER_JOB),
        ]
        | None
    ) = None
    units: (
        Annotated[
            list[Annotated[str, PydanticField(min_length=1, max_length=64)]],
            PydanticField(min_length=1, max_length=MAX_LABELS_PER_JOB),
        ]
        | None
    ) = None
    count: Annotated[StrictInt, PydanticField(ge=1, le=100_000)] | None = None

    @model_validator(mode="after")
    def _one_of(self) -> LabelSelection:
        given = [n for n in ("labels", "units", "count") if getattr(self, n) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of 'labels', 'units' or 'count'")
        return self


class LabelVoid(LabelSelection):
    reason: Reason
    signature: SignatureIn
