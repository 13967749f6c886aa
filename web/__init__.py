"""The pages: a scan station, a QA desk, an auditor's view, served from the API's process
under `/` with Jinja2 templates and vendored assets (htmx 2.0.11; no CDN, no build step).
Page routes are thin and call the same services as api/, so every rule, refusal and audit event
is the API's; they are left out of the OpenAPI document, which describes the API alone."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from web import auditor, desk, quality, receiving, station, trail
from web.pages import STATIC, STATIC_URL, PageRefused, SignInNeeded, render, sign_in_url


async def _sign_in_first(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInNeeded)
    if request.headers.get("hx-request"):
        return Response(status_code=204, headers={"HX-Redirect": sign_in_url(exc.path)})
    return RedirectResponse(sign_in_url(exc.path), status_code=303)


async def _refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageRefused)
    return render(request, "refused.html", {"title": "Not allowed", "error": exc.detail}, 403)


def install(app: FastAPI) -> None:
    app.mount(STATIC_URL, StaticFiles(directory=STATIC), name="web")
    app.add_exception_handler(SignInNeeded, _sign_in_first)
    app.add_exception_handler(PageRefused, _refused)
    for module in (station, desk, quality, receiving, auditor, trail):
        app.include_router(module.router)
