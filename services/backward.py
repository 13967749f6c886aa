"""The backward trace of a batch: every unit and lot consumed, directly, inside assemblies at any
nesting, and through the lots that earlier batches made, with status at use and now."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.batches import Batch, BatchFlag
from models.genealogy import Genealogy, GenealogyItem
from models.lots import Lot
from models.units import Unit
from services import audit, catalog
from services.genealogy import BUILT_IN, CONTAINERS, MAX_DEPTH, SCANNED


async def trace(session: AsyncSession, batch: Batch) -> Genealogy:
    containers = (
        await session.execute(CONTAINERS, {"batch_id": batch.id, "max_depth": MAX_DEPTH})
    ).all()
    batch_ids = sorted({node for kind, node, _, _ in containers if kind == "B"})
    assembly_ids = sorted({node for kind, node, _, _ in containers if kind == "A"})
    where: dict[tuple[str, int], tuple[int, str]] = {}
    for kind, node, depth, path in containers:  # the shortest way to each container
        if (kind, node) not in where or (depth, path) < where[(kind, node)]:
            where[(kind, node)] = (depth, path)
    scanned = (await session.execute(SCANNED, {"batches": batch_ids})).all() if batch_ids else []
    built = (
        (await session.execute(BUILT_IN, {"assemblies": assembly_ids})).all()
        if assembly_ids
        else []
    )
    lot_ids = {r.lot_id for r in scanned} | {r.lot_id for r in built}
    unit_ids = {r.unit_id for r in scanned if r.unit_id} | {r.unit_id for r in built if r.unit_id}
    unit_ids |= set(assembly_ids)
    lot_ids |= {
        int(step[1:])
        for _, path in where.values()
        for step in path.strip(",").split(",")
        if step.startswith("L")
    }
    lots = await _by_id(session, Lot, lot_ids)
    units = await _by_id(session, Unit, unit_ids)
    batches = await _by_id(session, Batch, set(batch_ids))
    deviations = await _flags(session, batch_ids)

    assembly_in = {units[a].lot_id: units[a].barcode for a in assembly_ids}

    def name(kind: str, node: int) -> str:
        if kind == "L":
            if node in assembly_in:  # an assembly's own lot: name the assembly
                return f"assembly {assembly_in[node]}"
            return f"lot {lots[node].code}"
        if kind == "B":
            return f"batch {batches[node].batch_number}"
        return f"assembly {units[node].barcode}"

    def path_of(kind: str, node: int) -> tuple[int, list[str]]:
        depth, path = where[(kind, node)]
        steps = [(step[0], int(step[1:])) for step in path.strip(",").split(",")]
        return depth, [name(k, n) for k, n in steps]

    items: list[GenealogyItem] = []
    for row in scanned:
        depth, path = path_of("B", row.container)
        lot, unit = lots[row.lot_id], units.get(row.unit_id) if row.unit_id else None
        items.append(
            await _item(
                session,
                depth + 1,
                path,
                path[-1],
                lot,
                unit,
                row.quantity,
                status_at_use=row.status_at_use,
                expiry=row.expiry,
                at=row.at,
                operator=row.actor,
                station=row.station,
                step=row.step,
                scan_id=row.scan_id,
                flags=list(row.flags or []),
                deviations=[
                    d
                    for d in deviations.get(row.container, [])
                    if d["scan_id"] == row.scan_id
                    or (d["scan_id"] is None and d["lot_id"] == row.lot_id)
                ],
            )
        )
    for row in built:
        depth, path = path_of("A", row.container)
        assembly = units[row.container]
        lot, unit = lots[row.lot_id], units.get(row.unit_id) if row.unit_id else None
        items.append(
            await _item(
                session,
                depth + 1,
                path,
                path[-1],
                lot,
                unit,
                row.quantity,
                status_at_use=None,
                expiry=lot.expiry_date,
                at=assembly.created_at,
                operator=assembly.created_by,
                station=None,
                step=None,
                scan_id=None,
                flags=[],
                deviations=[],
            )
        )
    items.sort(key=lambda i: (i.depth, i.path, i.at))
    return Genealogy(
        batch=batch.batch_number,
        product=batch.product,
        coi=batch.coi,
        status=batch.status,
        generated_at=utcnow(),
        audit_head=await audit.chain_head(session),
        items=items,
    )


async def _item(
    session: AsyncSession,
    depth: int,
    path: list[str],
    used_in: str,
    lot: Lot,
    unit: Unit | None,
    quantity: int,
    **fields: Any,
) -> GenealogyItem:
    here = f"unit {unit.barcode}" if unit else f"lot {lot.code}"
    return GenealogyItem(
        depth=depth,
        path=[*path, here],
        used_in=used_in.split(" ", 1)[1],
        kind="unit" if unit else "lot",
        unit=unit.barcode if unit else None,
        lot=lot.id or 0,
        lot_code=lot.code,
        component_type=await catalog.code_of(session, lot.component_type_id),
        supplier_lot=lot.supplier_lot,
        quantity=quantity,
        status_now=lot.status,
        unit_status_now=unit.status if unit else None,
        expiry_date=fields.pop("expiry"),
        **fields,
    )


async def _by_id(session: AsyncSession, model: Any, ids: set[int]) -> dict[int, Any]:
    if not ids:
        return {}
    rows: Sequence[Any] = (
        (await session.execute(select(model).where(model.id.in_(ids)))).scalars().all()
    )
    return {row.id: row for row in rows}


async def _flags(session: AsyncSession, batch_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    if not batch_ids:
        return {}
    found: dict[int, list[dict[str, Any]]] = {}
    for flag in (
        await session.execute(
            select(BatchFlag)
            .where(col(BatchFlag.batch_id).in_(batch_ids))
            .order_by(col(BatchFlag.id))
        )
    ).scalars():
        found.setdefault(flag.batch_id, []).append(
            {
                "id": flag.id,
                "code": flag.code,
                "status": flag.status,
                "message": flag.message,
                "scan_id": flag.scan_id,
                "lot_id": flag.lot_id,
                "deviation_ref": flag.deviation_ref,
                "resolved_by": flag.resolved_by,
                "resolution": flag.resolution,
            }
        )
    return found
