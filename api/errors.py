"""One renderer for every error: RFC 9457 problem+json, never a stack trace."""

from __future__ import annotations

import logging
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.errors import SutraceError

log = logging.getLogger("sutrace.errors")
PROBLEM = "application/problem+json"


def problem(
    status: int, code: str, detail: str, *, title: str | None = None, **extra: Any
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"https://sutrace.dev/problems/{code.lower().replace('_', '-')}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM, headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or str(loc[0] if loc else "body")


def _message(error: dict[str, Any]) -> str:
    if error.get("type") == "json_invalid":
        return f"The body is not valid JSON: {error.get('ctx', {}).get('error', 'parse error')}."
    message = str(error.get("msg", "is invalid"))
    return message.removeprefix("Value error, ")


def render(error: SutraceError) -> JSONResponse:
    """A refusal as problem+json: raised errors come here, and refusals a route returns."""
    return problem(error.status, error.code, error.detail, title=error.title, **error.extra)


async def _sutrace_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, SutraceError)
    return render(exc)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    # The body and the parameters are validated before any dependency runs; the contract still
    # wants 401, 403 and 404 first (api/precheck.py), then 422.
    refusal = await _refusal_before_body(request)
    if refusal is not None:
        return refusal
    errors = [
        {"field": _field(tuple(e.get("loc", ()))), "message": _message(e)} for e in exc.errors()
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:5])
    return problem(422, "VALIDATION_ERROR", f"The request is not valid: {summary}.", errors=errors)


async def _refusal_before_body(request: Request) -> JSONResponse | None:
    from api.precheck import refusal_before_body  # it imports the dependencies, which import us

    error = await refusal_before_body(request)
    return None if error is None else await _sutrace_error(request, error)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    status = exc.status_code
    if status == 404:
        return problem(404, "NOT_FOUND", "No such resource; check the path.")
    if status == 405:
        response = problem(405, "METHOD_NOT_ALLOWED", "This path does not accept that method.")
        if exc.headers and "Allow" in exc.headers:
            response.headers["Allow"] = exc.headers["Allow"]
        return response
    if status == 413:
        return problem(
            413, "BODY_TOO_LARGE", "The request body is over 1 MiB; send less at a time."
        )
    if status == 400:
        # FastAPI's answer to a body it could not parse (not UTF-8, nested past the parser's
        # limit, an integer of thousands of digits): still after 401, 403 and 404.
        refusal = await _refusal_before_body(request)
        if refusal is not None:
            return refusal
        return problem(
            400, "MALFORMED_BODY", "The body could not be read: send UTF-8 encoded JSON."
        )
    return problem(status, HTTPStatus(status).name, str(exc.detail))


async def _integrity_error(_: Request, exc: Exception) -> JSONResponse:
    # The services check uniqueness first; this is the race that slipped past them.
    log.warning("integrity error answered as 409: %s", exc.__class__.__name__)
    return problem(
        409, "CONFLICT", "The change conflicts with a record written at the same moment; retry."
    )


async def _data_error(_: Request, exc: Exception) -> JSONResponse:
    log.warning("database refused a value: %s", exc.__class__.__name__)
    return problem(422, "INVALID_VALUE", "A value is out of range for the database.")


async def _database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    # Not the input's fault: the database could not be reached, or it ended the transaction
    # (SQLite busy past its timeout, a PostgreSQL deadlock or serialization failure). The
    # transaction was rolled back, so the same request can be sent again.
    log.warning("database unavailable: %s", exc.__class__.__name__)
    response = problem(
        503,
        "DATABASE_UNAVAILABLE",
        "The database could not complete the request (unreachable or busy); nothing was saved. "
        "Send it again in a moment.",
    )
    response.headers["Retry-After"] = "1"
    return response


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return problem(500, "INTERNAL_ERROR", "Something went wrong on our side; nothing was saved.")


def install(app: FastAPI) -> None:
    app.add_exception_handler(SutraceError, _sutrace_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_exception_handler(DBAPIError, _data_error)
    app.add_exception_handler(Exception, _unexpected)
