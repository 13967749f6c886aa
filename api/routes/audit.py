"""The audit trail: query, verify, head."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import AwareDatetime

from api.deps import PagingDep, SessionDep
from api.routes import secured_router
from models.audit import AuditEventPublic, ChainHead, VerifyResult
from models.common import Page
from services.trust import audit, export, verification

router = secured_router("audit")
EntityType = Literal[
    "user",
    "key",
    "session",
    "station",
    "badge",
    "component_type",
    "lot",
    "unit",
    "batch",
    "scan",
    "flag",
    "recall",
    "printer",
    "label_template",
    "print_job",
]
Filter = Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00-\x1f\x7f]*$")]


AUDIT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/json": {}, "text/csv": {}},
        "description": "A page of events, newest first (JSON); or, with format=csv, every "
        "matching event in chain order (seq ascending), paging ignored.",
    }
}


@router.get("/audit", response_model=Page[AuditEventPublic], responses=AUDIT_RESPONSES)
async def list_events(
    request: Request,
    session: SessionDep,
    paging: PagingDep,
    entity_type: EntityType | None = None,
    entity_id: Filter = None,
    actor: Filter = None,
    action: Filter = None,
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    format: Literal["json", "csv"] = "json",
) -> Page[AuditEventPublic] | Response:
    """Events newest first. Each carries what an auditor needs to recompute its hash. With
    `format=csv`, every matching event as CSV in chain order, for the auditor's own tools."""
    await audit.sequence(session, wait=True)  # an auditor sees every committed event chained
    if format == "csv":
        conditions = audit.filters(
            entity_type=entity_type,
            entity_id=entity_id,
            actor=actor,
            action=action,
            since=since,
            until=until,
        )
        return StreamingResponse(
            export.stream_csv(request.app.state.sessionmaker, conditions),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
        )
    rows, total = await audit.query(
        session,
        entity_type=entity_type,
        entity_id=entity_id,
        actor=actor,
        action=action,
        since=since,
        until=until,
        limit=paging.limit,
        offset=paging.offset,
    )
    return Page(
        items=[
            AuditEventPublic(**audit.event_body(r), prev_hash=r.prev_hash, hash=r.hash)
            for r in rows
        ],
        total=total,
    )


@router.get("/audit/verify", response_model=VerifyResult, response_model_exclude_none=True)
async def verify(session: SessionDep) -> VerifyResult:
    """Recompute the whole chain; name the first event that was altered, removed or reordered."""
    await audit.sequence(session, wait=True)
    return await verification.verify(session)


@router.get("/audit/head", response_model=ChainHead)
async def head(session: SessionDep) -> ChainHead:
    """The last event's `seq` and `hash`: publish it to prove the tail later."""
    await audit.sequence(session, wait=True)
    return await audit.chain_head(session)
