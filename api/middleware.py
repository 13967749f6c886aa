"""ASGI middleware: the request body limit and the guard against control characters in URLs."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import problem

MAX_BODY_BYTES = 1024 * 1024
_CONTROL = re.compile("[\x00-\x1f\x7f]")


class _BodyTooLarge(HTTPException):
    """Raised while the body streams in; FastAPI passes HTTPExceptions through to the handler."""

    def __init__(self) -> None:
        super().__init__(413, "The request body is over 1 MiB.")


class GuardMiddleware:
    """413 for bodies over 1 MiB, counted as they stream; 400 for control characters in URLs."""

    def __init__(self, app: ASGIApp, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # One regular expression per part: every request passes here (unquote returns a string
        # without '%' as it is).
        if _CONTROL.search(unquote(scope.get("path", ""))) or _CONTROL.search(
            unquote(scope.get("query_string", b"").decode("latin-1"))
        ):
            await problem(400, "INVALID_URL", "The URL contains control characters; remove them.")(
                scope, receive, send
            )
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_large = int(value) > self.max_body
                except ValueError:
                    too_large = False
                if too_large:
                    await self._refuse(scope, receive, send)
                    return
        received = 0
        response_started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_body:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal response_started
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not response_started:
                await self._refuse(scope, receive, send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response: Any = problem(
            413,
            "BODY_TOO_LARGE",
            f"The request body is over {self.max_body // 1024} KiB; send less at a time.",
        )
        await response(scope, receive, send)
