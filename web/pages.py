"""What every page shares: templates, the vendored assets, who is asking, and refusals as HTML.

A page acts for the person signed in exactly as the API does: the same cookie authenticates
them (services.trust.access), the role table of the equivalent API operation (api/policy.py)
decides, a state-changing request carries the CSRF token of its sign-in, and the credential is
bound to the unit of work so that every audit event names it.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from fastapi.templating import Jinja2Templates
from sqlalchemy.ext.asyncio import AsyncSession

from api import cookies
from api.deps import SAFE_METHODS, now_of, presented
from api.policy import allowed_roles
from models.users import User
from services.errors import Forbidden, SutraceError, Unauthorized
from services.trust import access, credentials, sessions

HERE = Path(__file__).resolve().parent
STATIC = HERE / "static"
STATIC_URL = "/static/web"
templates = Jinja2Templates(directory=HERE / "templates")


class PageRefused(Exception):
    """A desk page the person signed in may not see or do: said on a page, not as JSON."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class SignInNeeded(Exception):
    """A desk page asked for without a valid sign-in: the sign-in page, then back here."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def render(
    request: Request, name: str, context: Mapping[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    return templates.TemplateResponse(request, name, dict(context or {}), status_code=status)


async def caller_for(
    request: Request,
    session: AsyncSession,
    method: str,
    api_path: str,
    *,
    form: Mapping[str, Any] | None = None,
    touch: bool = True,
) -> access.Caller:
    """The person signed in, allowed what the API operation `method api_path` allows, with the
    CSRF token of their sign-in on a state-changing request; their credential is bound to the
    unit of work. Raises Unauthorized (no sign-in) or Forbidden, as the API would. A stream
    re-checking its follower passes touch=False: watching is not activity."""
    caller = await access.authenticate(
        session, presented(request), now_of(request), request.app.state.settings, touch=touch
    )
    if caller.csrf_secret is not None and request.method not in SAFE_METHODS:
        sent = request.headers.get("x-csrf-token") or str((form or {}).get("csrf_token", ""))
        if not hmac.compare_digest(sent, credentials.csrf_token(caller.csrf_secret)):
            raise Forbidden(
                "This page is out of date (its CSRF token does not match your sign-in); reload.",
                code="CSRF_TOKEN_INVALID",
            )
    roles = allowed_roles(method, api_path)
    if roles is None or caller.user.role not in roles:
        raise Forbidden(
            f"Role '{caller.user.role}' may not do this ({method} {api_path} in the API).",
            code="ROLE_NOT_ALLOWED",
        )
    credentials.bind(session, caller.credential)
    request.state.caller = caller
    return caller


async def desk_user(
    request: Request,
    session: AsyncSession,
    method: str,
    api_path: str,
    form: Mapping[str, Any] | None = None,
) -> tuple[User, str]:
    """A desk page's reader: the user and the CSRF token their page sends; SignInNeeded when
    nobody is signed in."""
    try:
        caller = await caller_for(request, session, method, api_path, form=form)
    except Unauthorized as exc:
        query = f"?{request.url.query}" if request.url.query else ""
        raise SignInNeeded(request.url.path + query) from exc
    except Forbidden as exc:
        raise PageRefused(exc.detail) from exc
    return caller.user, credentials.csrf_token(caller.csrf_secret or "")


async def refusal(session: AsyncSession, exc: SutraceError) -> None:
    """A refusal rolls back what the request wrote, exactly as the API's unit of work does
    (security records were written apart; blocked scans are results, not refusals)."""
    await session.rollback()


def who(user: User) -> dict[str, str]:
    """What a page shows of the person signed in, read now: a rolled-back refusal expires the
    ORM row, and a template must not load it again."""
    return {"username": user.username, "full_name": user.full_name, "role": str(user.role)}


def sign_in_url(next_path: str) -> str:
    return "/sign-in?next=" + quote(next_path, safe="")


async def sign_out_to(
    request: Request, session: AsyncSession, now: datetime, target: str
) -> Response:
    """As DELETE /api/v1/sessions/current: the caller's session ends now and its cookie is
    cleared; then to `target`. Without a working session, only to `target`."""
    response = RedirectResponse(target, status_code=303)
    try:
        caller = await caller_for(
            request, session, "DELETE", "/sessions/current", form=await request.form()
        )
    except SutraceError:
        return response
    if caller.credential.session_id is not None:
        await sessions.end(session, caller.user, caller.credential.session_id, now, as_admin=False)
    cookies.clear_session(request, response)
    return response
