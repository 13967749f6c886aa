"""The auditor's view of the audit trail (`/audit-view/trail`): events newest first, filtered by
entity, user, action and a time window, through the service of GET /api/v1/audit, with the same
filters as a CSV download from the API. Read-only: for the roles that read the audit trail."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Annotated, Any, get_args
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import HTMLResponse

from api.deps import SessionDep
from api.routes.audit import EntityType
from services.trust import audit
from web.pages import desk_user, render, who

router = APIRouter(include_in_schema=False)
PAGE = 100
ENTITY_TYPES = get_args(EntityType)
Text = Annotated[str, Query(max_length=64)]
PAGES = {"lot": "/audit-view/lots/", "unit": "/audit-view/units/", "batch": "/audit-view/batches/"}


def _moment(value: str, name: str) -> datetime:
    """A time typed in the page's date-time field, read as UTC (the times the page shows)."""
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} '{value}' is not a date and time (YYYY-MM-DD HH:MM).") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


@router.get("/audit-view/trail", response_class=HTMLResponse)
async def trail(
    request: Request,
    session: SessionDep,
    entity_type: Text = "",
    entity_id: Text = "",
    actor: Text = "",
    action: Text = "",
    since: Text = "",
    until: Text = "",
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> Response:
    user, csrf = await desk_user(request, session, "GET", "/audit")
    typed = {
        "entity_type": entity_type.strip(),
        "entity_id": entity_id.strip(),
        "actor": actor.strip(),
        "action": action.strip(),
        "since": since.strip(),
        "until": until.strip(),
    }
    context: dict[str, Any] = {
        "title": "Audit trail",
        "user": who(user),
        "csrf": csrf,
        "entity_types": ENTITY_TYPES,
        "pages": PAGES,
        **typed,
    }
    given = {k: v for k, v in typed.items() if v}
    if given.get("entity_type", "") not in ("", *ENTITY_TYPES):
        context["error"] = f"Entity '{entity_type}' is not one of {', '.join(ENTITY_TYPES)}."
        return render(request, "audit_trail.html", context, 422)
    try:
        window = {k: _moment(given[k], k.title()) for k in ("since", "until") if k in given}
    except ValueError as exc:
        context["error"] = str(exc)
        return render(request, "audit_trail.html", context, 422)
    await audit.sequence(session, wait=True)  # as GET /audit: every committed event, chained
    rows, total = await audit.query(
        session,
        entity_type=given.get("entity_type"),
        entity_id=given.get("entity_id"),
        actor=given.get("actor"),
        action=given.get("action"),
        since=window.get("since"),
        until=window.get("until"),
        limit=PAGE,
        offset=offset,
    )
    wanted: dict[str, str] = {**given, **{k: v.isoformat() for k, v in window.items()}}
    here = {k: v for k, v in typed.items() if v}
    context.update(
        events=[
            {**audit.event_body(r), "record": json.dumps(_record(r), indent=1, sort_keys=True)}
            for r in rows
        ],
        total=total,
        offset=offset,
        csv="/api/v1/audit?" + urlencode({**wanted, "format": "csv"}),
        newer="?" + urlencode({**here, "offset": max(offset - PAGE, 0)}) if offset else None,
        older="?" + urlencode({**here, "offset": offset + PAGE}) if offset + PAGE < total else None,
    )
    return render(request, "audit_trail.html", context)


def _record(row: Any) -> dict[str, Any]:
    """What the event recorded, for the page's "Record" disclosure: before, after, signature."""
    return {
        k: getattr(row, k)
        for k in ("before", "after", "signature", "credential")
        if getattr(row, k) is not None
    }
