"""Observability: a request id on every request and response, one structured JSON log line per
request, and Prometheus metrics (request latency by route, scan outcomes by flag code).

Keys, passwords and bodies are never logged: the log line holds the method, the route template,
the status, the time taken and the request id.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import time
from typing import Any

from fastapi import APIRouter, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.policy import API_PREFIX

REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
log = logging.getLogger("sutrace.access")

REQUEST_SECONDS = Histogram(
    "sutrace_http_request_duration_seconds",
    "Time to answer a request, by method, route template and status.",
    ["method", "route", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
SCANS = Counter(
    "sutrace_scans_total",
    "Scans at the line by outcome and flag code ('none' for a clean accept).",
    ["outcome", "flag"],
)


def count_scan(outcome: str, flags: list[dict[str, Any]]) -> None:
    if not flags:
        SCANS.labels(outcome=outcome, flag="none").inc()
    for flag in flags:
        SCANS.labels(outcome=outcome, flag=flag["code"]).inc()


class JsonFormatter(logging.Formatter):
    # The timestamp has whole seconds: formatted once per second, not once per line.
    _second = -1
    _stamp = ""

    def format(self, record: logging.LogRecord) -> str:
        second = int(record.created)
        if second != self._second:
            self._stamp = self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z")
            self._second = second
        entry: dict[str, Any] = {
            "ts": self._stamp,
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        entry.update(getattr(record, "fields", {}))
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(level: str = "INFO") -> None:
    """JSON lines on stderr for every sutrace logger; set once per process."""
    # What no line prints is not gathered for every record (the logging documentation's
    # "Optimization"): thread, process and multiprocessing names.
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
    root = logging.getLogger("sutrace")
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.addHandler(handler)
    root.setLevel(level)
    root.propagate = False


class ObservabilityMiddleware:
    """A request id, the latency histogram and the access line, for every HTTP request.

    Pure ASGI and cheap on purpose (`/healthz` is polled, and every scan passes here; measured
    in process, the logging module's record, formatter and handler cost more than the rest of
    the middleware together). The id is 16 random bytes in hex; per (method, route template,
    status) the histogram's labelled child and the line's escaped middle are made once and
    kept (bounded: the app's routes times the statuses it answers); the access line is one
    f-string in the JsonFormatter's shape, written to stderr as one write, and only while the
    `sutrace.access` logger is enabled for INFO (so logging configuration still silences it).
    Every value in it is a known-safe string or a number: a generated or pattern-checked id,
    a route template, a method httptools accepted (escaped once by json.dumps anyway)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._per_route: dict[tuple[str, str, int], tuple[Any, str]] = {}
        self._second = -1
        self._stamp = ""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        status = 500
        started = time.perf_counter()

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id.encode()),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            key = (scope["method"], _route(scope), status)
            known = self._per_route.get(key)
            if known is None:
                method, route, _ = key
                middle = (
                    f'"method": {json.dumps(method)}, "route": {json.dumps(route)}, '
                    f'"status": {status}'
                )
                known = (REQUEST_SECONDS.labels(method, route, str(status)), middle)
                self._per_route[key] = known
            timer, middle = known
            timer.observe(elapsed)
            if log.isEnabledFor(logging.INFO):
                sys.stderr.write(
                    f'{{"ts": "{self._timestamp()}", "level": "info", "logger": "{log.name}", '
                    f'"msg": "request", "request_id": "{request_id}", {middle}, '
                    f'"duration_ms": {round(elapsed * 1000, 2)}}}\n'
                )

    def _timestamp(self) -> str:
        """Now as the JsonFormatter writes it (local time, whole seconds), made once a second."""
        second = int(time.time())
        if second != self._second:
            self._stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(second))
            self._second = second
        return self._stamp


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"x-request-id":
            candidate: str = value.decode("latin-1")
            if REQUEST_ID.match(candidate):
                return candidate
    return os.urandom(16).hex()


def _route(scope: Scope) -> str:
    """The route template (bounded label values), never the raw path."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if not isinstance(path, str):
        return "unmatched"
    if scope.get("path", "").startswith(API_PREFIX) and not path.startswith(API_PREFIX):
        return API_PREFIX + path
    return path


router = APIRouter(tags=["service"])


@router.get("/metrics", include_in_schema=True, response_class=Response)
async def metrics() -> Response:
    """Prometheus metrics, no key. With several workers, set PROMETHEUS_MULTIPROC_DIR to an
    empty folder so that each scrape sums them all."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
