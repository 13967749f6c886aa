"""Metrics, request ids and logs: what an operator of the service sees, and what never leaks."""

from __future__ import annotations

import json
import logging

import httpx
import pytest

from tests.support import ADMIN_KEY, PASSWORD, Actors, create_type, receive_lot, release_lot


@pytest.mark.req("URS-050")
async def test_metrics_count_requests_and_scan_outcomes_by_flag(
    client: httpx.AsyncClient, actors: Actors
) -> None:
    qa, warehouse = await actors.get("qa"), await actors.get("warehouse")
    supervisor, operator = await actors.get("supervisor"), await actors.get("operator")
    await create_type(client, qa, "SET")
    lot = await receive_lot(client, warehouse, "SET", quantity=5, coa_ref="C")
    await client.post(
        "/batches", headers=supervisor.headers, json={"batch_number": "M-1", "product": "P"}
    )
    await client.post("/batches/M-1/start", headers=supervisor.headers)
    await client.post(
        "/scans", headers=operator.headers, json={"barcode": lot["code"], "batch": "M-1"}
    )  # quarantined
    await release_lot(client, qa, lot["id"])
    await client.post(
        "/scans", headers=operator.headers, json={"barcode": lot["code"], "batch": "M-1"}
    )
    r = await client.get("http://test/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'sutrace_scans_total{flag="QUARANTINED",outcome="blocked"}' in text
    assert 'sutrace_scans_total{flag="none",outcome="accepted"}' in text
    assert (
        'sutrace_http_request_duration_seconds_count{method="POST",route="/api/v1/scans",'
        'status="409"}'
    ) in text
    assert 'route="/api/v1/lots/{lot_id}/status"' in text


@pytest.mark.req("URS-050")
async def test_every_response_carries_a_request_id(client: httpx.AsyncClient) -> None:
    r = await client.get("/me")
    generated = r.headers["x-request-id"]
    assert len(generated) == 32
    r = await client.get("/me", headers={"X-Request-ID": "scanner-7-000123"})
    assert r.headers["x-request-id"] == "scanner-7-000123"
    r = await client.get("/me", headers={"X-Request-ID": "bad id with spaces"})
    assert r.headers["x-request-id"] != "bad id with spaces"


@pytest.mark.req("URS-050", negative=True)
async def test_logs_are_json_and_never_hold_keys_or_passwords(
    client: httpx.AsyncClient,
    actors: Actors,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    qa = await actors.get("qa")
    capsys.readouterr()
    with caplog.at_level(logging.INFO, logger="sutrace"):
        await client.get("/me", headers={**qa.headers, "X-Request-ID": "trace-me"})
        await client.post(
            "/me/password",
            headers=qa.headers,
            json={"current_password": "wrong password!", "new_password": "x" * 12},
        )
        await client.post(
            "/users",
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
            json={
                "username": "x",
                "full_name": "X",
                "role": "qa",
                "password": "secret-new-user-pass",
            },
        )
    written = capsys.readouterr().err
    access = [
        line for line in map(json.loads, written.splitlines()) if line["logger"] == "sutrace.access"
    ]
    assert [(a["method"], a["route"], a["status"]) for a in access] == [
        ("GET", "/api/v1/me", 200),
        ("POST", "/api/v1/me/password", 403),
        ("POST", "/api/v1/users", 422),
    ]
    assert access[0]["request_id"] == "trace-me" and access[0]["level"] == "info"
    everything = written + caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    for secret in (qa.key, ADMIN_KEY, PASSWORD, "wrong password!", "secret-new-user-pass"):
        assert secret not in everything
