"""Server-Sent Events for QA dashboards."""

from __future__ import annotations

from typing import Annotated

from fastapi import Header, Query, Request
from fastapi.responses import StreamingResponse

from api.deps import check_access
from api.openapi import problems
from api.routes import secured_router
from services.errors import SutraceError
from services.trust import events

router = secured_router("events")
# The largest id the trail can hold (a 64-bit seq); anything else is not an id it ever sent.
MAX_EVENT_ID = 2**63 - 1


class InvalidLastEventId(SutraceError):
    status = 400
    title = "Bad request"
    default_code = "LAST_EVENT_ID_INVALID"


def last_seq(header: str | None) -> int | None:
    """The seq a reconnecting client last received: ASCII digits of a seq the trail can hold.
    (`str.isdigit` is true of '²', which `int` refuses: the check is spelled out.)"""
    if header is None or header == "":
        return None
    if not (header.isascii() and header.isdigit()) or int(header) > MAX_EVENT_ID:
        raise InvalidLastEventId(
            f"Last-Event-ID {header!r} is not an event id this stream sent (ASCII digits up to "
            f"{MAX_EVENT_ID}); reconnect without it, or with the id of the last event received."
        )
    return int(header)


@router.get(
    "/events",
    response_class=StreamingResponse,
    responses={
        200: {
            "content": {"text/event-stream": {}},
            "description": "scan.recorded, flag.raised, lot.status_changed",
        },
        **problems({400: ["LAST_EVENT_ID_INVALID"]}),
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
    one with `Last-Event-ID` first gets every event after that id. The stream ends once the
    follower's key, session or station no longer works (re-checked every few seconds and before
    each delivery). Only the line's events
    (scans, batch flags, lot status changes) are ever streamed; supervisors may follow it."""
    last = last_seq(last_event_id)

    async def still_allowed() -> bool:
        # The same check as the request's, in a unit of work of its own that writes nothing:
        # watching is not activity, so a session's idle deadline does not move (touch=False).
        async with request.app.state.sessionmaker() as session:
            try:
                await check_access(request, session, touch=False)
            except SutraceError:
                return False
            finally:
                await session.rollback()
        return True

    return StreamingResponse(
        events.stream(
            request.app.state.sessionmaker,
            request.app.state.signal,
            last,
            batch=batch,
            still_allowed=still_allowed,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
