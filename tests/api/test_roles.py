"""The role x endpoint matrix: every served operation, every role, against api/policy.py."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from api.main import _check_every_route_has_roles, create_app, served_operations
from api.policy import API_PREFIX, POLICY, PUBLIC, STATION, allowed_roles
from models.users import Role
from services.config import Settings
from tests.browsers import Browsers, badge_in, give_badge
from tests.support import (
    ADMIN_HEADERS,
    PASSWORD,
    Actors,
)

# Operations that stream forever are checked by their own tests.
STREAMING = {("GET", "/api/v1/events")}
# Signing out ends the caller's own session: it is asked last.
LAST = ("DELETE", "/api/v1/sessions/current")


def _concrete(path: str) -> str:
    # An id nobody has: an allowed caller gets 404 or 422, never changes a real record (a
    # session or key of its own that the rest of the matrix still needs).
    return re.sub(r"\{[^}]+\}", "999999", path)


async def _enrol_admin_password(client: httpx.AsyncClient) -> str:
    """The bootstrap admin has only a key: they enrol a password of their own to sign in."""
    r = await client.post("/users/admin/enrolment", headers=ADMIN_HEADERS)
    assert r.status_code == 201, r.text
    r = await client.post(
        "/enrolment",
        json={"username": "admin", "code": r.json()["code"], "password": PASSWORD},
    )
    assert r.status_code == 200, r.text
    return PASSWORD


@pytest.mark.req("URS-046", "URS-045", negative=True)
async def test_every_operation_allows_exactly_its_declared_roles(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors, browsers: Browsers
) -> None:
    """Every role, as an API key and as a person signed in with a cookie (at a desk, and an
    operator at a station with badge and PIN), against every operation."""
    callers: list[tuple[str, Role, httpx.AsyncClient, dict[str, str]]] = []
    for role in Role:
        actor = actors.admin if role == Role.admin else await actors.get(role)
        callers.append(("key", role, client, actor.headers))
    await _enrol_admin_password(client)
    for role in Role:
        actor = actors.admin if role == Role.admin else await actors.get(role)
        password = PASSWORD if role == Role.admin else None
        desk = await browsers.signed_in(actor, password)
        callers.append(("desk", role, desk.client, desk.headers))
    operator = await actors.get(Role.operator)
    await give_badge(client, operator, "BADGE-OP-1")
    station = await browsers.station()
    assert (await badge_in(station, "BADGE-OP-1")).status_code == 201
    callers.append(("station", Role.operator, station.client, station.headers))

    operations = [op for op in served_operations(app) if op not in STREAMING]
    assert operations, "the app serves no operations"
    operations.sort(key=lambda op: op == LAST)
    anonymous = browsers.new().client
    checked = 0
    for method, path in operations:
        url = "http://test" + _concrete(path)
        body: dict[str, object] | None = {} if method == "POST" else None
        if (method, path.removeprefix(API_PREFIX)) in PUBLIC | STATION:
            # Not role-gated: a secret in the body, or the station's own credential.
            response = await anonymous.request(method, url, json=body)
            assert response.status_code in (401, 422), (method, path, response.text)
            continue
        allowed = allowed_roles(method, path)
        assert allowed is not None, f"{method} {path} has no declared roles"
        response = await anonymous.request(method, url)
        assert response.status_code == 401, (method, path, response.text)
        for kind, role, http, headers in callers:
            response = await http.request(method, url, headers=headers, json=body)
            refused = (
                response.status_code == 403 and response.json().get("code") == "ROLE_NOT_ALLOWED"
            )
            assert refused == (role not in allowed), (method, path, kind, role, response.text)
            assert response.status_code not in (401, 500), (method, path, kind, role, response.text)
            checked += 1
    gated = [op for op in operations if (op[0], op[1].removeprefix(API_PREFIX)) in POLICY]
    assert checked == len(gated) * len(callers)


@pytest.mark.req("URS-046")
def test_every_declared_operation_names_known_roles() -> None:
    for (method, path), roles in POLICY.items():
        assert method in {"GET", "POST", "DELETE"}
        assert path.startswith("/") and not path.startswith("/api")
        assert roles and roles <= set(Role)


@pytest.mark.req("URS-046", negative=True)
def test_a_route_without_declared_roles_stops_the_app(db_url: str) -> None:
    app = create_app(Settings(database_url=db_url))

    @app.get("/api/v1/rogue")
    async def rogue() -> dict[str, str]:
        return {}

    app.openapi_schema = None
    with pytest.raises(RuntimeError, match="GET /api/v1/rogue"):
        _check_every_route_has_roles(app)


@pytest.mark.req("URS-046", "URS-009", negative=True)
def test_admin_holds_no_gmp_operation() -> None:
    admin_ops = {op for op, roles in POLICY.items() if Role.admin in roles}
    for method, path in admin_ops:
        # Printers are equipment, like users and stations; what a label says is QA's.
        provisioning = ("/users", "/me", "/sessions", "/stations", "/badges", "/printers")
        gmp_write = method != "GET" and not path.startswith(provisioning)
        assert not gmp_write, (method, path)
