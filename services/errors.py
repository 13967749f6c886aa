"""The error hierarchy every layer raises; the API renders each as problem+json.

Each error carries a stable machine `code` and a `detail` sentence a person can act on.
"""

from __future__ import annotations

from typing import Any, ClassVar


class SutraceError(Exception):
    status: int = 400
    title: ClassVar[str] = "Bad request"
    default_code: ClassVar[str] = "BAD_REQUEST"

    def __init__(self, detail: str, *, code: str | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.code = code or self.default_code
        self.extra = extra


class Unauthorized(SutraceError):
    status = 401
    title = "Unauthorized"
    default_code = "UNAUTHORIZED"


class Forbidden(SutraceError):
    status = 403
    title = "Forbidden"
    default_code = "FORBIDDEN"


class NotFound(SutraceError):
    status = 404
    title = "Not found"
    default_code = "NOT_FOUND"


class Conflict(SutraceError):
    status = 409
    title = "Conflict"
    default_code = "CONFLICT"


class Invalid(SutraceError):
    status = 422
    title = "Unprocessable content"
    default_code = "INVALID"


class AlreadyExists(Conflict):
    default_code = "ALREADY_EXISTS"
