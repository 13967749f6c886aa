"""Every problem+json a test sees must match what /openapi.json declares for that operation and
status: the status is listed, and the body validates against its schema (its code among the
declared ones where the operation lists them). The `client` fixture checks each answer."""

from __future__ import annotations

import re
from typing import Any

import httpx
import jsonschema_rs
from fastapi import FastAPI

PROBLEM_JSON = "application/problem+json"


class ProblemContract:
    """The app's declared error answers, compiled once per test run (the document is the same
    for every app the tests make)."""

    def __init__(self, openapi: dict[str, Any]) -> None:
        self.openapi = openapi
        self.routes: list[tuple[re.Pattern[str], str]] = sorted(
            (
                (re.compile("^" + re.sub(r"\{[^}/]+\}", "[^/]+", path) + "$"), path)
                for path in openapi["paths"]
            ),
            key=lambda entry: entry[1].count("{"),  # literal segments win: /flags/resolve
        )
        self.validators: dict[tuple[str, str, str], Any] = {}

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]] | None:
        for pattern, template in self.routes:
            if pattern.match(path):
                found = self.openapi["paths"][template].get(method.lower())
                if found is not None:
                    return template, found
        return None

    def check(self, method: str, path: str, status: int, body: Any) -> None:
        found = self.operation(method, path)
        if found is None:  # no such operation: the router's own 404 or 405
            return
        template, operation = found
        answer = operation["responses"].get(str(status))
        where = f"{method} {template} answered {status} {body.get('code')!r}"
        assert answer is not None, (
            f"{where}, a status its OpenAPI entry does not list: declare it in the route with "
            "responses=problems({...}) (api/openapi.py)"
        )
        schema = answer.get("content", {}).get(PROBLEM_JSON, {}).get("schema")
        assert schema is not None, f"{where}, but the status is not declared as problem+json"
        key = (method, template, str(status))
        if key not in self.validators:
            document = {**schema, "components": self.openapi["components"]}
            self.validators[key] = jsonschema_rs.Draft202012Validator(document)
        errors = [
            f"{'/'.join(map(str, e.instance_path)) or '(body)'}: {e.message}"
            for e in self.validators[key].iter_errors(body)
        ]
        assert not errors, f"{where}, which does not match its declared schema: {errors}"


_contract: ProblemContract | None = None


def contract_for(app: FastAPI) -> ProblemContract:
    global _contract
    if _contract is None:
        _contract = ProblemContract(app.openapi())
    return _contract


def checking_hook(app: FastAPI) -> Any:
    """An httpx response hook that holds every problem+json answer to the declared contract."""

    async def hook(response: httpx.Response) -> None:
        if not response.headers.get("content-type", "").startswith(PROBLEM_JSON):
            return
        await response.aread()
        contract_for(app).check(
            response.request.method,
            response.request.url.path,
            response.status_code,
            response.json(),
        )

    return hook
