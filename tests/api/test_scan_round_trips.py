"""A scan is decided and stored in a fixed number of statements, whatever its BOM or lot: on
PostgreSQL one read (the batch locked, the unit, lot and type, the source batch's flags, what the
BOM has consumed) and one write (unit, lot stock, scan and audit event); BEGIN and COMMIT are the
other two round trips. SQLite, in process, writes one statement at a time.

Statements are counted (deterministic), not timed. The scan service is called directly so that
what the request's authentication reads is not counted here; the answer is checked over HTTP.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlmodel import col

from models.scans import ScanCreate
from models.users import User
from services.line import scanning
from tests.support import (
    Actor,
    Actors,
    add_units,
    batch_scans,
    change_status,
    create_batch,
    create_type,
    get_json,
    line_staff,
    record_output,
    release_lot,
    released_lot,
    scan_ok,
    site_today,
    statements,
)

# Each database's statements for a scan: (accepted unit, accepted lot by quantity, blocked).
EXPECTED = {"postgresql": (2, 2, 2), "sqlite": (5, 4, 3)}
_NOT_THE_SCANS = ("BEGIN", "SAVEPOINT", "RELEASE", "ROLLBACK", "COMMIT", "UPDATE audit_event")


def _not_the_scans(sql: str) -> bool:
    """Transaction control and the audit sequencer's rounds (it runs on its own every 0.2 s:
    the chain head, unsequenced events)."""
    return sql.startswith(_NOT_THE_SCANS) or "audit_head" in sql or "seq IS NULL" in sql


async def _counted(app: FastAPI, actor: Actor, **body: Any) -> tuple[int, str]:
    """Scan as `actor` through the service in its own unit of work: statements, outcome."""
    async with app.state.sessionmaker() as session:
        user = (
            await session.execute(select(User).where(col(User.username) == actor.username))
        ).scalar_one()
        with statements(app, _not_the_scans) as seen:
            outcome = await scanning.scan(session, user, ScanCreate(**body), site_today())
        await session.commit()
    return len(seen), "blocked" if outcome.refusal else "accepted"


@pytest.mark.req("URS-077")
async def test_a_scan_is_decided_and_stored_in_a_fixed_number_of_statements(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors, db_url: str
) -> None:
    line = await line_staff(actors)
    await create_type(client, line.qa, "BAG", tracking="serial")
    await create_type(client, line.qa, "SET", tracking="lot")
    await create_batch(client, line.supervisor, "B-SRC")
    made = await record_output(client, line.supervisor, "B-SRC", "BAG", "MADE-1")
    await release_lot(client, line.qa, made["id"])
    bags = await add_units(client, line.warehouse, made["id"], 3)
    sets = await released_lot(client, line.qa, line.warehouse, "SET", "ST-1", 20)
    held = await released_lot(client, line.qa, line.warehouse, "BAG", "BG-Q", 5)
    held_bags = await add_units(client, line.warehouse, held["id"], 1)
    r = await change_status(client, line.qa, held["id"], "quarantined")
    assert r.status_code == 200, r.text
    bom = [{"component_type": "BAG", "quantity": 2}, {"component_type": "SET", "quantity": 5}]
    await create_batch(client, line.supervisor, "B-1", bom=bom)
    # The first scan into a batch reads its BOM once for the process; these load it.
    await scan_ok(client, line.operator, bags[0], "B-1")
    await scan_ok(client, line.operator, sets["code"], "B-1")

    unit, lot, blocked = EXPECTED[db_url.split("+")[0]]
    assert await _counted(app, line.operator, barcode=bags[1], batch="B-1") == (unit, "accepted")
    assert await _counted(app, line.operator, barcode=sets["code"], batch="B-1", quantity=2) == (
        lot,
        "accepted",
    )
    assert await _counted(app, line.operator, barcode=held_bags[0], batch="B-1") == (
        blocked,
        "blocked",
    )

    # What the line sees: both uses consumed and in the batch, with the blocked attempt.
    scans = await batch_scans(client, line.operator, "B-1")
    assert [(s["outcome"], s["unit"], s["quantity"]) for s in scans[2:]] == [
        ("accepted", bags[1], 1),
        ("accepted", None, 2),
        ("blocked", held_bags[0], 1),
    ]
    assert (await get_json(client, f"/lots/{sets['id']}", line.qa))["quantity_left"] == 17
    unit_view = await get_json(client, f"/units/{bags[1]}", line.qa)
    assert unit_view["status"] == "consumed"
