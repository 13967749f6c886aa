"""Health, version and documentation."""

from __future__ import annotations

import httpx
import pytest

from tests.support import ADMIN_KEY, assert_problem

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.mark.req("URS-045")
async def test_health_needs_no_key(client: httpx.AsyncClient) -> None:
    r = await client.get("http://test/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


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
