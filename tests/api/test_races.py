"""Races over real HTTP: the line and QA's decisions sent at the same moment to a served app.

Each test repeats rounds and asserts an invariant afterwards, never a timing: whatever order the
database put the two sides in, what the users see afterwards must be a state one of the orders
could have produced. On SQLite (one writer at a time) they hold trivially; on PostgreSQL they hold
because every status change locks its row and decides from what the lock returned, and a scan
consumes only in a statement that carries every condition (see services/locks.py).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable
from datetime import datetime
from typing import Any

import httpx
import pytest

from tests.support import (
    INSPECTION_OK,
    Actor,
    Actors,
    add_units,
    assemble,
    assert_problem,
    audit_events,
    batch_flags,
    batch_scans,
    create_batch,
    create_type,
    get_json,
    post_scan,
    receive_lot,
    released_lot,
    staff,
)

ROUNDS = 5
SCANNERS = 6
AFTER_USE = "LOT_STATUS_CHANGED_AFTER_USE"
# Kit scans sent SPREAD seconds apart, over the time a signed status change takes.
KIT_SCANNERS = 10
SPREAD = 0.05


@pytest.fixture
async def line(served: str) -> AsyncIterator[httpx.AsyncClient]:
    """A second client that speaks to the served app: the requests of a race go through it."""
    async with httpx.AsyncClient(base_url=f"{served}/api/v1", timeout=60) as http:
        yield http


async def together(*requests: Awaitable[httpx.Response]) -> list[httpx.Response]:
    """Send every request at once; the answers in the order given."""
    return list(await asyncio.gather(*requests))


def _signed(actor: Actor, meaning: str, **body: Any) -> dict[str, Any]:
    return {**body, "signature": actor.signature(meaning)}


async def _status(http: httpx.AsyncClient, qa: Actor, lot_id: int, status: str) -> httpx.Response:
    body = _signed(qa, f"Lot {status}", status=status, reason="QA decision")
    if status == "released":
        body["inspection"] = INSPECTION_OK
    return await http.post(f"/lots/{lot_id}/status", json=body, headers=qa.headers)


async def _recall(http: httpx.AsyncClient, qa: Actor, supplier_lot: str) -> httpx.Response:
    body = _signed(
        qa,
        "Recalled",
        component_type="BAG",
        supplier_lot=supplier_lot,
        notice_ref="FSN-RACE",
        reason="Supplier field safety notice",
    )
    return await http.post("/recalls", json=body, headers=qa.headers)


async def _open_after_use(client: httpx.AsyncClient, qa: Actor, batch: str) -> set[str]:
    """The lot codes of the batch's open LOT_STATUS_CHANGED_AFTER_USE flags."""
    flags = await batch_flags(client, qa, batch, "open")
    return {f["lot_code"] for f in flags if f["code"] == AFTER_USE}


@pytest.mark.req("URS-059", "URS-014", negative=True)
@pytest.mark.parametrize("change", ["recalled", "rejected", "quarantined", "recall notice"])
async def test_every_scan_racing_a_lot_status_change_is_flagged_or_refused(
    client: httpx.AsyncClient, actors: Actors, line: httpx.AsyncClient, change: str
) -> None:
    """Scans of a released lot's units, each into its own batch, sent with a status change that
    makes the lot unusable: each accepted scan's batch is flagged afterwards, each scan after the
    change is refused with the lot's real status."""
    qa, warehouse, supervisor, operator = await staff(
        actors, "qa", "warehouse", "supervisor", "operator"
    )
    await create_type(client, qa, "BAG", tracking="serial")
    batches = [f"R-{i}" for i in range(SCANNERS)]
    for number in batches:
        await create_batch(client, supervisor, number)
    refusal = {
        "recalled": "RECALLED",
        "recall notice": "RECALLED",
        "rejected": "REJECTED",
        "quarantined": "QUARANTINED",
    }[change]
    accepted = refused = 0
    for round_ in range(ROUNDS):
        lot = await released_lot(client, qa, warehouse, "BAG", f"SL-{round_}", SCANNERS)
        units = await add_units(client, warehouse, lot["id"], SCANNERS)
        decision = (
            _recall(line, qa, f"SL-{round_}")
            if change == "recall notice"
            else _status(line, qa, lot["id"], change)
        )
        *scans, decided = await together(
            *(post_scan(line, operator, u, b) for u, b in zip(units, batches, strict=True)),
            decision,
        )
        assert decided.status_code in (200, 201), decided.text
        for batch, scan in zip(batches, scans, strict=True):
            if scan.status_code == 201:
                accepted += 1
                assert lot["code"] in await _open_after_use(client, qa, batch), (round_, batch)
            else:
                refused += 1
                assert scan.status_code == 409, scan.text
                codes = [f["code"] for f in scan.json()["flags"] if f["severity"] == "block"]
                assert codes == [refusal], scan.text
    assert accepted + refused == ROUNDS * SCANNERS


@pytest.mark.req("URS-060", negative=True)
@pytest.mark.parametrize("terminal", ["recalled", "rejected"])
async def test_a_lot_never_leaves_a_terminal_decision_made_at_the_same_moment(
    client: httpx.AsyncClient, actors: Actors, line: httpx.AsyncClient, terminal: str
) -> None:
    """A release sent with a recall (or a rejection) of the same quarantined lot: when the
    recall answered 200, the lot ends recalled, whichever came first."""
    qa, warehouse, qa2 = await staff(actors, "qa", "warehouse", "qa:qa2")
    await create_type(client, qa, "BAG", tracking="serial")
    for round_ in range(ROUNDS):
        lot = await receive_lot(client, warehouse, "BAG", f"SL-{round_}", 5, coa_ref="COA-1")
        final, first = await together(
            _status(line, qa, lot["id"], terminal), _status(line, qa2, lot["id"], "released")
        )
        now = await get_json(client, f"/lots/{lot['id']}", qa)
        assert final.status_code == 200, final.text
        assert now["status"] == terminal, (round_, first.status_code, now["status"])
        if first.status_code != 200:
            assert first.json()["code"] == "ILLEGAL_TRANSITION", first.text
        events = [
            e["after"]["status"]
            for e in reversed(await audit_events(client, "lot", lot["id"], qa.headers))
            if e["action"] == "lot.status"
        ]
        # The audit trail tells one order the two could have happened in.
        assert events in ([terminal], ["released", terminal]), events


@pytest.mark.req("URS-061", "URS-014", negative=True)
@pytest.mark.parametrize("end", ["complete", "abort"])
async def test_no_scan_is_accepted_into_a_batch_after_it_ended(
    client: httpx.AsyncClient, actors: Actors, line: httpx.AsyncClient, end: str
) -> None:
    """Scans into one batch sent with its completion (or abort): every accepted scan was made
    before the batch ended, every later one is refused as BATCH_NOT_ACTIVE."""
    qa, warehouse, supervisor, operator = await staff(
        actors, "qa", "warehouse", "supervisor", "operator"
    )
    await create_type(client, qa, "BAG", tracking="serial")
    lot = await released_lot(client, qa, warehouse, "BAG", "SL-1", ROUNDS * SCANNERS)
    units = await add_units(client, warehouse, lot["id"], ROUNDS * SCANNERS)
    for round_ in range(ROUNDS):
        batch = f"E-{round_}"
        await create_batch(client, supervisor, batch)
        body = _signed(supervisor, f"Batch {end}", reason="Cells lost")
        if end == "complete":
            body = _signed(supervisor, "Batch complete")
        mine = units[round_ * SCANNERS : (round_ + 1) * SCANNERS]
        *scans, ended = await together(
            *(post_scan(line, operator, u, batch) for u in mine),
            line.post(f"/batches/{batch}/{end}", json=body, headers=supervisor.headers),
        )
        assert ended.status_code == 200, ended.text
        ended_at = datetime.fromisoformat(ended.json()["ended_at"])
        for scan in scans:
            if scan.status_code != 201:
                assert scan.status_code == 409, scan.text
                codes = [f["code"] for f in scan.json()["flags"] if f["severity"] == "block"]
                assert codes == ["BATCH_NOT_ACTIVE"], scan.text
        stored = await batch_scans(client, qa, batch)
        accepted = [s for s in stored if s["outcome"] == "accepted"]
        assert len(accepted) == sum(s.status_code == 201 for s in scans)
        for stored_scan in accepted:
            at = datetime.fromisoformat(stored_scan["at"])
            assert at < ended_at, (round_, at, ended_at)


@pytest.mark.req("URS-061")
async def test_a_batch_completed_and_aborted_at_once_ends_once(
    client: httpx.AsyncClient, actors: Actors, line: httpx.AsyncClient
) -> None:
    supervisor, supervisor2, qa = await staff(actors, "supervisor", "supervisor:supervisor2", "qa")
    for round_ in range(ROUNDS):
        batch = f"C-{round_}"
        await create_batch(client, supervisor, batch)
        completed, aborted = await together(
            line.post(
                f"/batches/{batch}/complete",
                json=_signed(supervisor, "Batch complete"),
                headers=supervisor.headers,
            ),
            line.post(
                f"/batches/{batch}/abort",
                json=_signed(supervisor2, "Batch aborted", reason="Cells lost"),
                headers=supervisor2.headers,
            ),
        )
        answers = sorted((completed.status_code, aborted.status_code))
        assert answers == [200, 409], (completed.text, aborted.text)
        winner = "completed" if completed.status_code == 200 else "aborted"
        now = await get_json(client, f"/batches/{batch}", supervisor)
        assert now["status"] == winner
        ends = [
            e
            for e in await audit_events(client, "batch", batch, qa.headers)
            if e["action"] in ("batch.complete", "batch.abort")
        ]
        assert len(ends) == 1, ends


@pytest.mark.req("URS-061")
async def test_concurrent_starts_start_a_batch_once(
    client: httpx.AsyncClient, actors: Actors, line: httpx.AsyncClient
) -> None:
    supervisor, qa = await staff(actors, "supervisor", "qa")
    for round_ in range(ROUNDS):
        batch = f"S-{round_}"
        await create_batch(client, supervisor, batch, start=False)
        answers = await together(
            *(line.post(f"/batches/{batch}/start", headers=supervisor.headers) for _ in range(5))
        )
        assert sorted(r.status_code for r in answers) == [200] + [409] * 4
        starts = [
            e
            for e in await audit_events(client, "batch", batch, qa.headers)
            if e["action"] == "batch.start"
        ]
        assert len(starts) == 1, starts


@pytest.mark.req("URS-062", negative=True)
async def test_an_override_racing_a_recall_is_flagged_or_refused(
    client: httpx.AsyncClient, actors: Actors, line: httpx.AsyncClient
) -> None:
    """QA overrides a scan blocked as QUARANTINED while another QA recalls the lot: an accepted
    override is flagged by the recall; an override after it is refused."""
    qa, qa2, warehouse, supervisor, operator = await staff(
        actors, "qa", "qa:qa2", "warehouse", "supervisor", "operator"
    )
    await create_type(client, qa, "BAG", tracking="serial")
    for round_ in range(ROUNDS):
        batch = f"O-{round_}"
        await create_batch(client, supervisor, batch)
        lot = await receive_lot(client, warehouse, "BAG", f"SL-{round_}", 1, coa_ref="COA-1")
        [unit] = await add_units(client, warehouse, lot["id"], 1)
        blocked = await post_scan(client, operator, unit, batch)
        assert blocked.status_code == 409, blocked.text
        await _override_racing_recall(client, line, qa, qa2, blocked, lot, batch, round_)


async def _override_racing_recall(
    client: httpx.AsyncClient,
    line: httpx.AsyncClient,
    qa: Actor,
    qa2: Actor,
    blocked: httpx.Response,
    lot: dict[str, Any],
    batch: str,
    round_: int,
) -> None:
    """`qa2` overrides the `blocked` scan while `qa` recalls `lot`: an accepted override is
    flagged by the recall; one after it is refused and leaves no flag."""
    override = {
        "reason": "Release paperwork delayed",
        "deviation_ref": f"DEV-{round_}",
        "signature": qa2.signature("Deviation approved"),
    }
    overridden, recalled = await together(
        line.post(
            f"/scans/{blocked.json()['scan_id']}/override", json=override, headers=qa2.headers
        ),
        _status(line, qa, lot["id"], "recalled"),
    )
    assert recalled.status_code == 200, recalled.text
    if overridden.status_code == 200:
        assert lot["code"] in await _open_after_use(client, qa, batch), round_
    else:
        assert overridden.status_code == 409, overridden.text
        assert overridden.json()["code"] == "NOT_OVERRIDABLE", overridden.text
        assert await _open_after_use(client, qa, batch) == set()


@pytest.mark.req("URS-063")
async def test_two_qa_resolving_one_flag_resolve_it_once(
    client: httpx.AsyncClient, actors: Actors, line: httpx.AsyncClient
) -> None:
    qa, qa2, warehouse, supervisor, operator = await staff(
        actors, "qa", "qa:qa2", "warehouse", "supervisor", "operator"
    )
    await create_type(client, qa, "BAG", tracking="serial")
    for round_ in range(ROUNDS):
        batch = f"F-{round_}"
        await create_batch(client, supervisor, batch)
        lot = await released_lot(client, qa, warehouse, "BAG", f"SL-{round_}", 1)
        [unit] = await add_units(client, warehouse, lot["id"], 1)
        assert (await post_scan(client, operator, unit, batch)).status_code == 201
        assert (await _status(client, qa, lot["id"], "recalled")).status_code == 200
        [flag] = await batch_flags(client, qa, batch, "open")
        answers = await together(
            *(
                line.post(
                    f"/flags/{flag['id']}/resolve",
                    json=_signed(who, "Flag resolved", reason="Investigated"),
                    headers=who.headers,
                )
                for who in (qa, qa2)
            )
        )
        assert sorted(r.status_code for r in answers) == [200, 409], [r.text for r in answers]
        [refused] = [r for r in answers if r.status_code == 409]
        assert refused.json()["code"] == "FLAG_RESOLVED"
        resolutions = [
            e
            for e in await audit_events(client, "flag", flag["id"], qa.headers)
            if e["action"] == "flag.resolve"
        ]
        assert len(resolutions) == 1, resolutions


async def _kit_line(client: httpx.AsyncClient, actors: Actors) -> list[Actor]:
    """QA, warehouse, supervisor, operator; BAG (serial) parts, SET (lot) parts, KIT assemblies."""
    people = await staff(actors, "qa", "warehouse", "supervisor", "operator")
    qa = people[0]
    await create_type(client, qa, "BAG", tracking="serial")
    await create_type(client, qa, "SET", tracking="lot")
    await create_type(
        client, qa, "KIT", tracking="serial", category="kit", is_assembly=True, hold_hours=24_000
    )
    return people


async def _after(seconds: float, request: Awaitable[httpx.Response]) -> httpx.Response:
    await asyncio.sleep(seconds)
    return await request


def _blocking(response: httpx.Response) -> list[str]:
    return sorted(f["code"] for f in response.json()["flags"] if f["severity"] == "block")


@pytest.mark.req("URS-082", "URS-059", "URS-035", negative=True)
@pytest.mark.parametrize("change", ["recalled", "rejected", "recall notice"])
async def test_every_kit_scan_racing_a_change_of_a_part_lot_is_flagged_or_refused(
    client: httpx.AsyncClient, actors: Actors, line: httpx.AsyncClient, change: str
) -> None:
    """Kits, each built from a unit of one released lot, scanned each into its own batch while
    QA makes that part lot unusable: each accepted kit's batch is flagged afterwards for the
    part lot, each kit scanned after the change is refused naming the part's real status.

    A kit's scan is short beside a signed change (its signature check dominates), so the scans
    are sent spread over the change's time: some are in flight when it commits."""
    qa, warehouse, supervisor, operator = await _kit_line(client, actors)
    batches = [f"K-{i}" for i in range(KIT_SCANNERS)]
    for number in batches:
        await create_batch(client, supervisor, number)
    refusal = "REJECTED" if change == "rejected" else "RECALLED"
    accepted = refused = 0
    for round_ in range(ROUNDS):
        lot = await released_lot(client, qa, warehouse, "BAG", f"SL-{round_}", KIT_SCANNERS)
        bags = await add_units(client, warehouse, lot["id"], KIT_SCANNERS)
        kits = [(await assemble(client, warehouse, "KIT", [bag]))["barcode"] for bag in bags]
        decision = (
            _recall(line, qa, f"SL-{round_}")
            if change == "recall notice"
            else _status(line, qa, lot["id"], change)
        )
        *scans, decided = await together(
            *(
                _after(i * SPREAD, post_scan(line, operator, k, b))
                for i, (k, b) in enumerate(zip(kits, batches, strict=True))
            ),
            decision,
        )
        assert decided.status_code in (200, 201), decided.text
        for batch, scan in zip(batches, scans, strict=True):
            if scan.status_code == 201:
                accepted += 1
                assert lot["code"] in await _open_after_use(client, qa, batch), (round_, batch)
            else:
                refused += 1
                assert scan.status_code == 409, scan.text
                assert _blocking(scan) == [refusal], scan.text
    assert accepted + refused == ROUNDS * KIT_SCANNERS


@pytest.mark.req("URS-083", "URS-035", negative=True)
async def test_every_kit_built_while_a_part_lot_is_recalled_is_refused_or_blocked_after(
    client: httpx.AsyncClient, actors: Actors, line: httpx.AsyncClient
) -> None:
    """Kits built from one released lot's stock while QA recalls that lot: each build is either
    refused (PART_NOT_USABLE, naming the lot recalled) or made before the recall, and then the
    kit shows as blocked and is refused at the line; the lot's stock counts only the kits made."""
    qa, warehouse, supervisor, operator = await _kit_line(client, actors)
    await create_batch(client, supervisor, "K-1")
    built = refused = 0
    for round_ in range(ROUNDS):
        lot = await released_lot(client, qa, warehouse, "SET", f"SL-{round_}", SCANNERS)
        body = {"component_type": "KIT", "components": [{"lot_id": lot["id"], "quantity": 1}]}
        *builds, recalled = await together(
            *(
                line.post("/assemblies", json=body, headers=warehouse.headers)
                for _ in range(SCANNERS)
            ),
            _status(line, qa, lot["id"], "recalled"),
        )
        assert recalled.status_code == 200, recalled.text
        kits = []
        for build in builds:
            if build.status_code == 201:
                built += 1
                kits.append(build.json()["barcode"])
            else:
                refused += 1
                problem = assert_problem(build, 409, "PART_NOT_USABLE")
                assert lot["code"] in problem["detail"] and "recalled" in problem["detail"]
        for kit in kits:
            view = await get_json(client, f"/units/{kit}", qa)
            assert (view["usable"], view["blocking"]) == (False, ["RECALLED"]), view
            scan = await post_scan(client, operator, kit, "K-1")
            assert scan.status_code == 409 and _blocking(scan) == ["RECALLED"], scan.text
        now = await get_json(client, f"/lots/{lot['id']}", qa)
        assert now["quantity_left"] == SCANNERS - len(kits), (round_, now)
    assert built + refused == ROUNDS * SCANNERS


@pytest.mark.req("URS-083")
async def test_kits_built_while_units_are_registered_on_their_part_lots_all_succeed(
    client: httpx.AsyncClient, actors: Actors, line: httpx.AsyncClient
) -> None:
    """Builds (each a unit of one lot and stock of another) sent with registrations of more
    units on both part lots' kind: no request waits on another in a cycle, every one succeeds."""
    qa, warehouse, _, _ = await _kit_line(client, actors)
    for round_ in range(ROUNDS):
        bags = await released_lot(client, qa, warehouse, "BAG", f"SL-{round_}", 3 * SCANNERS)
        units = await add_units(client, warehouse, bags["id"], SCANNERS)
        sets = await released_lot(client, qa, warehouse, "SET", f"TS-{round_}", SCANNERS)
        answers = await together(
            *(
                line.post(
                    "/assemblies",
                    json={
                        "component_type": "KIT",
                        "components": [{"barcode": u}, {"lot_id": sets["id"], "quantity": 1}],
                    },
                    headers=warehouse.headers,
                )
                for u in units
            ),
            *(
                line.post(f"/lots/{bags['id']}/units", json={"count": 1}, headers=warehouse.headers)
                for _ in range(SCANNERS)
            ),
        )
        assert [r.status_code for r in answers] == [201] * (2 * SCANNERS), [
            r.text for r in answers if r.status_code != 201
        ]


@pytest.mark.req("URS-082", "URS-062", negative=True)
async def test_an_override_of_a_kit_racing_a_recall_of_its_part_is_flagged_or_refused(
    client: httpx.AsyncClient, actors: Actors, line: httpx.AsyncClient
) -> None:
    """QA overrides a kit's scan blocked as QUARANTINED by its part while another QA recalls the
    part's lot: an accepted override is flagged by the recall; one after it is refused."""
    qa, warehouse, supervisor, operator = await _kit_line(client, actors)
    [qa2] = await staff(actors, "qa:qa2")
    for round_ in range(ROUNDS):
        batch = f"KO-{round_}"
        await create_batch(client, supervisor, batch)
        lot = await receive_lot(client, warehouse, "BAG", f"SL-{round_}", 1, coa_ref="COA-1")
        [bag] = await add_units(client, warehouse, lot["id"], 1)
        kit = (await assemble(client, warehouse, "KIT", [bag]))["barcode"]
        blocked = await post_scan(client, operator, kit, batch)
        assert blocked.status_code == 409, blocked.text
        await _override_racing_recall(client, line, qa, qa2, blocked, lot, batch, round_)
