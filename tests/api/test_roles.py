"""The role x endpoint matrix: every served operation, every role, against api/policy.py."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI

from api.main import _check_every_route_has_roles, create_app, served_operations
from api.policy import POLICY, allowed_roles
from models.users import Role
from services.config import Settings
from tests.support import Actors

# Operations that stream forever are checked by their own tests.
STREAMING = {("GET", "/api/v1/events")}


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "1", path)


@pytest.mark.req("URS-046", "URS-045", negative=True)
async def test_every_operation_allows_exactly_its_declared_roles(
    app: FastAPI, client: httpx.AsyncClient, actors: Actors
) -> None:
    keys: dict[Role, dict[str, str]] = {
        role: (await actors.get(role)).headers for role in Role if role != Role.admin
    }
    keys[Role.admin] = actors.admin.headers
    operations = [op for op in served_operations(app) if op not in STREAMING]
    assert operations, "the app serves no operations"
    checked = 0
    for method, path in operations:
        allowed = allowed_roles(method, path)
        assert allowed is not None, f"{method} {path} has no declared roles"
        url = "http://test" + _concrete(path)
        response = await client.request(method, url)
        assert response.status_code == 401, (method, path, response.text)
        for role, headers in keys.items():
            body: dict[str, object] | None = {} if method == "POST" else None
            response = await client.request(method, url, headers=headers, json=body)
            refused = (
                response.status_code == 403 and response.json().get("code") == "ROLE_NOT_ALLOWED"
            )
            assert refused == (role not in allowed), (method, path, role, response.text)
            assert response.status_code < 500, (method, path, role, response.text)
            checked += 1
    assert checked == len(operations) * len(Role)


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
        gmp_write = method != "GET" and not path.startswith(("/users", "/me"))
        assert not gmp_write, (method, path)
