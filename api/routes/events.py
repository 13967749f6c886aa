"""Server-Sent Events for QA dashboards."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Query, Request
from fastapi.responses import StreamingResponse

from api.routes import secured_router
from services.trust import events

router = secured_router("events")


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "scan.recorded, flag.raised, lot.status_changed",
        }
    },
)
async def stream_events(
    request: Request,
    last_event_id: Annotated[str | None, Header(max_length=20)] = None,
    batch: Annotated[
        str | None, Query(max_length=64, description="Only this batch's scans and flags.")
    ] = None,
) -> StreamingResponse:
    """Events after commit, each `id:` its audit seq. A new connection gets only later events;
    one with `Last-Event-ID` first gets every event after that id. Only the line's events
    (scans, batch flags, lot status changes) are ever streamed; supervisors may follow it."""
    last = int(last_event_id) if last_event_id and last_event_id.isdigit() else None
    return StreamingResponse(
        events.stream(request.app.state.sessionmaker, request.app.state.signal, last, batch=batch),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
