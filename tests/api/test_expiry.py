"""Expiry is decided by the server clock in SITE_TIMEZONE: usable through the whole expiry date."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from api.main import create_app
from services.config import Settings
from tests.support import ADMIN_KEY, Actors, assert_problem, create_type, receive_lot, release_lot


async def _scan_lot_expiring(
    client: httpx.AsyncClient, actors: Actors, expiry: date, number: str
) -> httpx.Response:
    qa = await actors.get("qa")
    warehouse = await actors.get("warehouse")
    supervisor = await actors.get("supervisor")
    operator = await actors.get("operator")
    if (await client.get("/component-types/SET", headers=qa.headers)).status_code == 404:
        await create_type(client, qa, "SET", expiry_warning_days=0)
    lot = await receive_lot(
        client, warehouse, "SET", supplier_lot=number, expiry=expiry, coa_ref="COA"
    )
    if expiry >= _today(client):
        await release_lot(client, qa, lot["id"])
    await client.post(
        "/batches", headers=supervisor.headers, json={"batch_number": number, "product": "CAR-T"}
    )
    await client.post(f"/batches/{number}/start", headers=supervisor.headers)
    return await client.post(
        "/scans", headers=operator.headers, json={"barcode": lot["code"], "batch": number}
    )


def _today(client: httpx.AsyncClient) -> date:
    zone = ZoneInfo(client.headers.get("X-Test-Zone", "UTC"))
    return datetime.now(UTC).astimezone(zone).date()


@pytest.mark.req("URS-012", negative=True)
async def test_usable_through_the_expiry_date_and_not_a_day_after(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    today = _today(client)
    r = await _scan_lot_expiring(client, actors, today + timedelta(days=1), "DAY-BEFORE")
    assert r.status_code == 201, r.text
    r = await _scan_lot_expiring(client, actors, today, "THE-DAY")
    assert r.status_code == 201, r.text
    r = await _scan_lot_expiring(client, actors, today - timedelta(days=1), "DAY-AFTER")
    body = assert_problem(r, 409, "SCAN_BLOCKED")
    expired = [f for f in body["flags"] if f["code"] == "EXPIRED"]
    assert expired and (today - timedelta(days=1)).isoformat() in expired[0]["message"]


def _zone_where_the_date_differs_from_utc() -> str:
    now = datetime.now(UTC)
    for name in ("Pacific/Kiritimati", "Pacific/Pago_Pago"):  # UTC+14 and UTC-11
        if now.astimezone(ZoneInfo(name)).date() != now.date():
            return name
    raise AssertionError("one of the two zones always differs from UTC")


@pytest.fixture
async def zoned_client(db_url: str) -> AsyncIterator[httpx.AsyncClient]:
    zone = _zone_where_the_date_differs_from_utc()
    app = create_app(
        Settings(database_url=db_url, bootstrap_admin_key=ADMIN_KEY, site_timezone=zone)
    )
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://test/api/v1", headers={"X-Test-Zone": zone}
        ) as http:
            http.app = app  # type: ignore[attr-defined]
            yield http


@pytest.mark.req("URS-049")
@pytest.mark.req("URS-012", negative=True)
async def test_today_is_the_site_date_not_the_utc_date(zoned_client: httpx.AsyncClient) -> None:
    actors = Actors(zoned_client.app, zoned_client)  # type: ignore[attr-defined]
    zone = zoned_client.headers["X-Test-Zone"]
    site_today = _today(zoned_client)
    utc_today = datetime.now(UTC).date()
    assert site_today != utc_today
    version = (await zoned_client.get("/version", headers=(await actors.get("qa")).headers)).json()
    assert version["site_timezone"] == zone
    # A lot expiring on the UTC date: in a zone ahead of UTC it is already expired; in a zone
    # behind UTC it is still a day away. The site's date decides.
    r = await _scan_lot_expiring(zoned_client, actors, utc_today, "UTC-DAY")
    if site_today > utc_today:
        body = assert_problem(r, 409, "SCAN_BLOCKED")
        assert "EXPIRED" in [f["code"] for f in body["flags"]]
    else:
        assert r.status_code == 201, r.text
    r = await _scan_lot_expiring(zoned_client, actors, site_today, "SITE-DAY")
    assert r.status_code == 201, r.text
