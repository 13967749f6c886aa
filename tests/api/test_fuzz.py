"""Hostile input: schemathesis generates requests from the app's own OpenAPI schema. No 5xx,
every response conforms to the schema, every 4xx is problem+json. Bounded per operation here;
bench/fuzz.py runs the long version."""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import response_schema_conformance

from api.policy import allowed_roles
from models.users import Role
from tests.support import Actors, create_type, receive_lot

EXAMPLES = int(os.environ.get("SUTRACE_FUZZ_EXAMPLES", "12"))
SKIP = {("GET", "/api/v1/events")}  # an endless stream; tested in test_events.py


def fuzz(base: str, keys: dict[Role, str], examples: int, progress: Any = None) -> list[str]:
    """Run every operation with generated input; returns the failures found."""
    schema = schemathesis.openapi.from_url(f"{base}/openapi.json")
    failures: list[str] = []
    calls = [0]
    for result in schema.get_all_operations():
        if not isinstance(result, Ok):
            failures.append(f"the schema has an invalid operation: {result.err()}")
            continue
        operation = result.ok()
        if (operation.method.upper(), operation.path) in SKIP:
            continue
        try:
            _fuzz_operation(operation, base, keys, examples, calls)
        except Exception as exc:  # collect them all, report together
            failures.append(f"{operation.method.upper()} {operation.path}: {str(exc)[:500]}")
        if progress is not None:
            progress(f"{operation.method.upper()} {operation.path}: {calls[0]} requests so far")
    if calls[0] < 50:
        failures.append(f"only {calls[0]} requests were generated")
    return failures


def _fuzz_operation(
    operation: Any, base: str, keys: dict[Role, str], examples: int, calls: list[int]
) -> None:
    method, path = operation.method.upper(), operation.path
    roles = sorted(allowed_roles(method, path) or set(Role))

    @given(case=operation.as_strategy())
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def check(case: Any) -> None:
        role = roles[calls[0] % len(roles)]
        calls[0] += 1
        response = case.call(
            base_url=base, headers={"Authorization": f"Bearer {keys[role]}"}, timeout=30
        )
        where = f"{method} {path} as {role.value}: {response.status_code}"
        assert response.status_code < 500, f"{where} {response.text[:300]}"
        if 400 <= response.status_code < 500:
            kind = response.headers.get("content-type", [""])[0]
            assert kind.startswith("application/problem+json"), f"{where} {kind}"
        case.validate_response(response, checks=[response_schema_conformance])

    check()


@pytest.mark.filterwarnings("ignore")
@pytest.mark.req("URS-006", negative=True)
async def test_generated_requests_get_no_5xx_and_conform(
    client: httpx.AsyncClient, actors: Actors, served: str
) -> None:
    keys: dict[Role, str] = {
        role: (await actors.get(role)).key for role in Role if role != Role.admin
    }
    keys[Role.admin] = actors.admin.key
    qa, warehouse = await actors.get("qa"), await actors.get("warehouse")
    await create_type(client, qa, "SET")
    await receive_lot(client, warehouse, "SET", quantity=5, coa_ref="C")
    failures = await asyncio.to_thread(fuzz, served, keys, EXAMPLES)
    assert not failures, "\n".join(failures)
