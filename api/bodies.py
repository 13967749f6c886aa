"""JSON request bodies read strictly: an object that names a key twice is refused.

Python's json module (and so FastAPI) keeps the last of repeated keys, so `{"quantity": 1,
"quantity": 1000}` would be read as 1000 while a proxy, a log or a reviewer reading the raw body
may see 1. Every router's routes read bodies through `StrictJSONRoute`; a repeated key is a
JSON decode error, answered as any body that is not valid JSON (after the key and role checks):
422 `VALIDATION_ERROR` naming the key.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.routing import APIRoute


def _unique(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key, value in pairs:
        if key in found:
            raise json.JSONDecodeError(f"the key {key!r} appears twice in one object", "", 0)
        found[key] = value
    return found


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), object_pairs_hook=_unique)
        return self._json


class StrictJSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def strict(request: Request) -> Response:
            return await handler(StrictJSONRequest(request.scope, request.receive))

        return strict
