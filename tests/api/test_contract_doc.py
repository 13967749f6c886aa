"""docs/api.md, the contract in the repository, lists exactly the operations the service
serves, each with the roles api/policy.py gives it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi import FastAPI

from api.main import served_operations
from api.policy import API_PREFIX, PUBLIC, STATION, allowed_roles
from models.scans import FlagCode
from models.users import Role

CONTRACT = Path(__file__).resolve().parents[2] / "docs" / "api.md"
ROW = re.compile(r"^\| `(GET|POST|DELETE|PUT|PATCH) (/[^`]*)` \| ([^|]+) \|", re.MULTILINE)


def documented() -> dict[tuple[str, str], str]:
    found: dict[tuple[str, str], str] = {}
    for method, path, roles in ROW.findall(CONTRACT.read_text(encoding="utf-8")):
        key = (method, API_PREFIX + path)
        # An operation may be listed under two resources (a lot's units); alike each time.
        assert found.setdefault(key, roles.strip()) == roles.strip(), key
    return found


def roles_text(roles: frozenset[Role]) -> set[str]:
    return {"all"} if roles == frozenset(Role) else {r.value for r in roles}


@pytest.mark.req("URS-057")
def test_the_contract_lists_every_operation_with_its_roles(app: FastAPI) -> None:
    listed = documented()
    served = set(served_operations(app))
    assert sorted(served - set(listed)) == [], "served but not in docs/api.md"
    assert sorted(set(listed) - served) == [], "in docs/api.md but not served"
    for (method, path), roles in listed.items():
        op = (method, path.removeprefix(API_PREFIX))
        if op in PUBLIC or op in STATION:
            assert roles.strip() == ("public" if op in PUBLIC else "station"), (method, path)
            continue
        declared = allowed_roles(method, path)
        assert declared is not None
        assert {r.strip() for r in roles.split(",")} == roles_text(declared), (method, path)


@pytest.mark.req("URS-057")
def test_the_contract_names_every_error_and_flag_code_the_schema_lists(app: FastAPI) -> None:
    text = CONTRACT.read_text(encoding="utf-8")
    codes: set[str] = {code.value for code in FlagCode}
    for operations in app.openapi()["paths"].values():
        for operation in operations.values():
            for status, answer in operation.get("responses", {}).items():
                schema = answer.get("content", {}).get("application/problem+json", {})
                code = schema.get("schema", {}).get("properties", {}).get("code", {})
                codes |= set(code.get("enum", []) or code.get("examples", []))
                assert not status.startswith("4") or code, (operation["operationId"], status)
    missing = sorted(c for c in codes if f"`{c}`" not in text)
    assert missing == [], "codes in /openapi.json that docs/api.md does not name"
