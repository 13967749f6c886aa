"""Batch flags: list and resolve (qa, signed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

from api.deps import CurrentUser, PagingDep, SessionDep
from api.openapi import problems
from api.routes import secured_router
from models.batches import FlagPublic, FlagResolve, FlagsResolve, FlagStatus
from models.common import Page
from services.quality import flags

router = secured_router("flags")


@router.get("/flags", response_model=Page[FlagPublic])
async def list_flags(
    session: SessionDep,
    paging: PagingDep,
    status: FlagStatus | None = None,
    batch: Annotated[str | None, Query(max_length=64)] = None,
    code: Annotated[str | None, Query(max_length=32, pattern=r"^[A-Z_]+$")] = None,
) -> Page[FlagPublic]:
    items, total = await flags.list_flags(
        session, status=status, batch=batch, code=code, limit=paging.limit, offset=paging.offset
    )
    return Page(items=items, total=total)


@router.post(
    "/flags/resolve",
    response_model=list[FlagPublic],
    responses=problems({404: ["FLAG_NOT_FOUND"], 409: ["FLAG_RESOLVED"]}),
)
async def resolve_many(
    body: FlagsResolve, actor: CurrentUser, session: SessionDep
) -> list[FlagPublic]:
    """Resolve many flags under one investigation and one signature: all of them, or none."""
    resolved = await flags.resolve(session, actor, body.ids, body.reason, body.signature)
    return [await flags.public(session, f) for f in resolved]


@router.post(
    "/flags/{flag_id}/resolve",
    response_model=FlagPublic,
    responses=problems({409: ["FLAG_RESOLVED"]}),
)
async def resolve_one(
    flag_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    body: FlagResolve,
    actor: CurrentUser,
    session: SessionDep,
) -> FlagPublic:
    resolved = await flags.resolve(session, actor, [flag_id], body.reason, body.signature)
    return await flags.public(session, resolved[0])
