"""A batch's audit bundle: one zip an auditor takes away, that proves itself.

    record.pdf, record.json      the batch component record
    genealogy.json, genealogy.csv  the backward trace
    audit-events.csv, .json      every sequenced audit event about the batch, its scans (blocked
                                 ones too), its flags, and the lots and units in its trace, in
                                 chain order, with prev_hash and hash
    manifest.json                what is inside, each file's SHA-256, and the chain head then

The events are a slice of the chain: each carries its own `prev_hash` and `hash`, so each can
be checked against the full trail (`GET /audit`) or the published head.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from typing import Any
from zoneinfo import ZoneInfo

from pydantic_core import to_json
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.batches import Batch, BatchFlag
from models.genealogy import BatchRecord, Genealogy
from models.scans import Scan
from services.genealogy import record, record_pdf, reports
from services.trust import audit, export

DESCRIPTION = (
    "A zip: record.pdf, record.json, genealogy.json, genealogy.csv, audit-events.csv, "
    "audit-events.json and manifest.json (SHA-256 of each file, the audit chain head)."
)
IN_CHUNK = 500


async def build(session: AsyncSession, batch: Batch, zone: ZoneInfo) -> bytes:
    built = await record.build(session, batch, zone)
    trace = Genealogy.model_validate(built.model_dump())
    events = await _events(session, batch, built)
    files: dict[str, bytes] = {
        "record.pdf": record_pdf.to_pdf(built),
        "record.json": built.model_dump_json(indent=2).encode("utf-8"),
        "genealogy.json": to_json(trace, indent=2),
        "genealogy.csv": reports.to_csv(trace),
        "audit-events.csv": ("\ufeff" + export.to_csv(events)).encode("utf-8"),
        "audit-events.json": to_json(
            [{**audit.event_body(e), "prev_hash": e.prev_hash, "hash": e.hash} for e in events],
            indent=2,
        ),
    }
    manifest = {
        "batch": batch.batch_number,
        "generated_at": audit.format_at(built.generated_at),
        "audit_head": built.audit_head.model_dump(),
        "events": len(events),
        "files": {name: hashlib.sha256(data).hexdigest() for name, data in files.items()},
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        archive.writestr("manifest.json", json.dumps(manifest, indent=2))
    return out.getvalue()


async def _events(session: AsyncSession, batch: Batch, built: BatchRecord) -> list[Any]:
    """The sequenced events about the batch, its scans and flags, and the scans, lots and units
    in its trace, in chain order."""
    scan_ids = (
        await session.execute(select(col(Scan.id)).where(col(Scan.batch_id) == batch.id))
    ).scalars()
    flag_ids = (
        await session.execute(select(col(BatchFlag.id)).where(col(BatchFlag.batch_id) == batch.id))
    ).scalars()
    entities: dict[str, set[str]] = {
        "batch": {batch.batch_number},
        "scan": {str(i) for i in scan_ids} | {str(i.scan_id) for i in built.items if i.scan_id},
        "flag": {str(i) for i in flag_ids} | {str(f["id"]) for f in built.flags},
        "lot": {str(c.lot) for c in built.components},
        "unit": {i.unit for i in built.items if i.unit},
    }
    found: dict[int, Any] = {}
    for entity_type, ids in entities.items():
        ordered = sorted(ids)
        for start in range(0, len(ordered), IN_CHUNK):
            chunk = ordered[start : start + IN_CHUNK]
            rows = await session.execute(
                select(audit.EVENT).where(
                    audit.EVENT.c.seq.is_not(None),
                    audit.EVENT.c.entity_type == entity_type,
                    audit.EVENT.c.entity_id.in_(chunk),
                )
            )
            for row in rows:
                found[row.seq] = row
    return [found[seq] for seq in sorted(found)]
