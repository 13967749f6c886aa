"""The backward trace of a batch: every unit and lot that went into it, at any depth."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import SQLModel

from models.audit import ChainHead
from models.labels import LabelCounts


class GenealogyItem(SQLModel):
    depth: int
    path: list[str]
    used_in: str
    kind: str  # "unit" or "lot"
    unit: str | None
    lot: int
    lot_code: str
    component_type: str
    supplier_lot: str
    quantity: int
    status_at_use: str | None
    status_now: str
    unit_status_now: str | None
    expiry_date: date | None
    at: datetime
    operator: str
    station: str | None
    step: str | None
    scan_id: int | None
    flags: list[dict[str, Any]]
    deviations: list[dict[str, Any]]


class OutputLabels(LabelCounts):
    """The label reconciliation of a lot the batch made (21 CFR 211.130, 211.188(b)(8))."""

    lot: int
    lot_code: str


class Genealogy(SQLModel):
    batch: str
    product: str
    coi: str | None
    status: str
    generated_at: datetime
    audit_head: ChainHead
    items: list[GenealogyItem]
    output_labels: list[OutputLabels] = []


class LifecycleEvent(SQLModel):
    """A step of the batch's life: created, started, completed or aborted, by whom, and the
    signature (meaning, time, signer's full name) where the step is signed."""

    event: str
    at: datetime
    by: str | None
    full_name: str | None
    reason: str | None
    signature: dict[str, Any] | None


class RecordComponent(SQLModel):
    """A lot that went into the batch, with what a reviewer checks about it."""

    lot: int
    lot_code: str
    component_type: str
    name: str
    gtin: str | None
    supplier: str | None
    supplier_lot: str
    coa_ref: str | None
    expiry_date: date | None
    status_now: str
    released_by: dict[str, Any] | None


class BlockedAttempt(SQLModel):
    """A scan the line refused, with every flag; `override` when QA accepted it later."""

    scan_id: int
    at: datetime
    operator: str
    operator_name: str | None
    barcode: str
    step: str | None
    station: str | None
    flags: list[dict[str, Any]]
    override: dict[str, Any] | None


class BatchRecord(SQLModel):
    """The batch component record: the batch's life and signatures, its BOM planned against
    consumed, every item of the backward trace, the lots they came from, every flag and
    deviation, and every blocked attempt. `zone` is the site's time zone the PDF shows."""

    batch: str
    product: str
    coi: str | None
    status: str
    zone: str
    generated_at: datetime
    audit_head: ChainHead
    lifecycle: list[LifecycleEvent]
    justification: str | None
    bom: list[dict[str, Any]]
    items: list[GenealogyItem]
    components: list[RecordComponent]
    flags: list[dict[str, Any]]
    blocked: list[BlockedAttempt]
    people: dict[str, str]
    output_labels: list[OutputLabels] = []
