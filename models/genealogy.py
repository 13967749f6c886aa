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
