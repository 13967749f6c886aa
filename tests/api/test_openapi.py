"""/openapi.json tells the truth a client generator needs, and /docs works without internet."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from api.main import served_operations
from api.policy import API_PREFIX, PUBLIC, STATION, allowed_roles
from models.scans import FlagCode
from models.users import Role

ROOT = "http://test"


async def schema(client: httpx.AsyncClient) -> dict[str, Any]:
    r = await client.get(f"{ROOT}/openapi.json")
    assert r.status_code == 200
    document: dict[str, Any] = r.json()
    return document


def problem_codes(operation: dict[str, Any], status: str) -> list[str]:
    answer = operation["responses"][status]
    code = answer["content"]["application/problem+json"]["schema"]["properties"]["code"]
    codes: list[str] = code.get("enum") or code.get("examples")
    return codes


@pytest.mark.req("URS-057")
async def test_every_operation_declares_its_errors_as_problems(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    document = await schema(client)
    schemes = document["components"]["securitySchemes"]
    assert schemes["HTTPBearer"]["scheme"] == "bearer"
    assert schemes["APIKeyCookie"] == {
        "type": "apiKey",
        "in": "cookie",
        "name": "sutrace_session",
        "description": schemes["APIKeyCookie"]["description"],
    }
    assert schemes["StationCookie"]["name"] == "sutrace_station"
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for method, path in served_operations(app):
        operation = document["paths"][path][method.lower()]
        op = (method, path.removeprefix(API_PREFIX))
        if op in PUBLIC:
            # Sign-in and enrolment: no credential yet; their own secret's 401s are declared.
            assert "security" not in operation, path
            assert "UNAUTHORIZED" not in problem_codes(operation, "401"), path
            continue
        if op in STATION:
            assert operation["security"] == [{"StationCookie": []}], path
            assert {"STATION_REQUIRED", "STATION_INVALID"} <= set(problem_codes(operation, "401"))
            continue
        assert operation["security"] == [{"HTTPBearer": []}, {"APIKeyCookie": []}], path
        assert {"UNAUTHORIZED", "SESSION_EXPIRED"} <= set(problem_codes(operation, "401"))
        if allowed_roles(method, path) != frozenset(Role):
            assert "ROLE_NOT_ALLOWED" in problem_codes(operation, "403"), (method, path)
        if method != "GET":
            assert "CSRF_TOKEN_MISSING" in problem_codes(operation, "403"), (method, path)
        if "{" in path:
            assert "404" in operation["responses"], (method, path)
        if operation.get("parameters") or operation.get("requestBody"):
            assert "VALIDATION_ERROR" in problem_codes(operation, "422"), (method, path)
        for status, answer in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert set(answer["content"]) == {"application/problem+json"}, (path, status)
    scans = document["paths"]["/api/v1/scans"]["post"]
    assert problem_codes(scans, "409") == ["CONFLICT", "SCAN_BLOCKED", "IDEMPOTENCY_CONFLICT"]
    complete = document["paths"]["/api/v1/batches/{batch_number}/complete"]["post"]
    assert set(problem_codes(complete, "403")) == {
        "ROLE_NOT_ALLOWED",
        "CSRF_TOKEN_MISSING",
        "CSRF_TOKEN_INVALID",
        "SIGNATURE_INVALID",
        "SIGNING_LOCKED",
        "PASSWORD_CHANGE_REQUIRED",
        "BADGE_UNKNOWN",
        "BADGE_REVOKED",
        "USER_INACTIVE",
        "PIN_NOT_SET",
        "PIN_LOCKED",
    }
    assert {"BADGE_AND_PIN_REQUIRED", "PASSWORD_REQUIRED"} <= set(problem_codes(complete, "422"))
    assert {"OPEN_FLAGS", "BOM_INCOMPLETE"} <= set(problem_codes(complete, "409"))


@pytest.mark.req("URS-057")
async def test_flags_are_typed_with_their_codes(client: httpx.AsyncClient) -> None:
    document = await schema(client)
    schemas = document["components"]["schemas"]
    flag = schemas["ScanFlag"]
    assert flag["required"] == ["code", "severity", "message"]
    code = flag["properties"]["code"]
    enum = schemas[code["$ref"].rsplit("/", 1)[1]]["enum"] if "$ref" in code else code["enum"]
    assert set(enum) == {c.value for c in FlagCode}
    assert flag["properties"]["severity"]["enum"] == ["block", "warn"]
    problem = schemas["Problem"]
    assert problem["properties"]["flags"]["items"] == {"$ref": "#/components/schemas/ScanFlag"}
    accepted = schemas["ScanAccepted"]["properties"]["flags"]
    assert accepted["items"] == {"$ref": "#/components/schemas/ScanFlag"}


@pytest.mark.req("URS-057")
async def test_the_main_operations_show_a_raw_gs1_scan_and_its_answers(
    client: httpx.AsyncClient,
) -> None:
    document = await schema(client)
    scans = document["paths"]["/api/v1/scans"]["post"]
    examples = scans["requestBody"]["content"]["application/json"]["examples"]
    assert "\x1d" in examples["supplier_gs1"]["value"]["barcode"]
    accepted = scans["responses"]["201"]["content"]["application/json"]["example"]
    assert accepted["outcome"] == "accepted"
    blocked = scans["responses"]["409"]["content"]["application/problem+json"]["example"]
    assert blocked["code"] == "SCAN_BLOCKED" and blocked["flags"][0]["code"] == "QUARANTINED"
    receipt = document["paths"]["/api/v1/receipts/scan"]["post"]
    example = receipt["requestBody"]["content"]["application/json"]["examples"]
    assert "\x1d" in example["gs1_with_serial"]["value"]["barcode"]


@pytest.mark.req("URS-057")
async def test_docs_load_nothing_from_the_internet(client: httpx.AsyncClient) -> None:
    r = await client.get(f"{ROOT}/docs")
    assert r.status_code == 200
    html = r.text
    urls = re.findall(r"""(?:src|href)=["']([^"']+)["']|url:\s*'([^']+)'""", html)
    found = [a or b for a, b in urls]
    assert found, html
    assert all(u.startswith("/") and not u.startswith("//") for u in found), found
    assert not re.search(r"https?://", html), html
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png"):
        r = await client.get(f"{ROOT}/static/swagger-ui/{asset}")
        assert r.status_code == 200 and len(r.content) > 500, asset
    assert (await client.get(f"{ROOT}/redoc")).status_code == 404
