"""Health, version and documentation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import event

from api.main import create_app
from services.config import Settings
from tests.contract import checking_hook
from tests.support import ADMIN_KEY, assert_problem

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.mark.req("URS-045")
async def test_health_needs_no_key(client: httpx.AsyncClient) -> None:
    r = await client.get("http://test/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


@pytest.mark.req("URS-076")
async def test_health_asks_the_database_at_most_once_a_second(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    asked: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if statement.strip().upper() == "SELECT 1":
            asked.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        for _ in range(20):
            r = await client.get("http://test/healthz")
            assert r.status_code == 200 and r.json()["status"] == "ok"
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(asked) <= 1  # 20 polls within a second: one probe at most (0 if one was fresh)


@pytest.mark.req("URS-076", negative=True)
async def test_health_is_503_when_the_database_does_not_answer(tmp_path: Path) -> None:
    gone = create_app(Settings(database_url=f"sqlite+aiosqlite:///{tmp_path}/no/such/dir/x.db"))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gone),
        base_url="http://test",
        event_hooks={"response": [checking_hook(gone)]},
    ) as http:
        r = await http.get("/healthz")
    assert_problem(r, 503, "DATABASE_UNREACHABLE")


@pytest.mark.req("URS-076", negative=True)
@pytest.mark.parametrize(
    "url",
    [
        "sqlite+aiosqlite:///{tmp}/no/such/dir/x.db",
        "postgresql+psycopg://postgres@127.0.0.1:1/nowhere",  # nothing listens on port 1
    ],
    ids=["sqlite", "postgresql"],
)
async def test_a_request_the_database_cannot_serve_is_503_to_retry_not_bad_input(
    tmp_path: Path, url: str
) -> None:
    gone = create_app(Settings(database_url=url.format(tmp=tmp_path)))
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gone),
        base_url="http://test/api/v1",
        event_hooks={"response": [checking_hook(gone)]},
    ) as http:
        read = await http.get("/lots", headers=ADMIN)
        write = await http.post(
            "/component-types", headers=ADMIN, json={"code": "BAG", "name": "Bag"}
        )
    for r in (read, write):
        assert_problem(r, 503, "DATABASE_UNAVAILABLE")
        assert r.headers["Retry-After"] == "1"
        assert "nothing was saved" in r.json()["detail"]


@pytest.mark.req("URS-049")
@pytest.mark.req("URS-045", negative=True)
async def test_version_names_schema_and_settings(client: httpx.AsyncClient) -> None:
    assert_problem(await client.get("/version"), 401, "UNAUTHORIZED")
    r = await client.get("/version", headers=ADMIN)
    body = r.json()
    assert body["schema_revision"] and body["site_timezone"] == "UTC"
    assert body["version"] == "0.1.0"


@pytest.mark.req("URS-045")
async def test_openapi_and_docs_are_public_and_list_full_paths(
    client: httpx.AsyncClient,
) -> None:
    r = await client.get("http://test/openapi.json")
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/v1/users/{username}/keys" in paths and "/api/v1/audit/verify" in paths
    # Both ways in are declared: a key for machine clients, a session cookie for browsers.
    schemes = r.json()["components"]["securitySchemes"]
    assert schemes["HTTPBearer"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "An API key (machine clients).",
    }
    assert schemes["APIKeyCookie"]["in"] == "cookie"
    assert schemes["APIKeyCookie"]["name"] == "sutrace_session"
    security = paths["/api/v1/lots"]["get"]["security"]
    assert {"HTTPBearer": []} in security and {"APIKeyCookie": []} in security
    assert "security" not in paths["/api/v1/sessions"]["post"]
    r = await client.get("http://test/docs")
    assert r.status_code == 200 and "swagger" in r.text.lower()


@pytest.mark.req("URS-045", negative=True)
async def test_cors_is_closed_unless_configured(client: httpx.AsyncClient) -> None:
    r = await client.options(
        "/me", headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "GET"}
    )
    assert "access-control-allow-origin" not in r.headers
    r = await client.get("/me", headers={**ADMIN, "Origin": "https://evil.example"})
    assert r.status_code == 200 and "access-control-allow-origin" not in r.headers
