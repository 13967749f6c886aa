"""Supplier recalls (qa, signed)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path

from api.deps import CurrentUser, PagingDep, SessionDep
from api.openapi import problems
from api.routes import secured_router
from models.common import Page
from models.lots import RecallCreate, RecallPublic
from services.quality import recalls

router = secured_router("recalls")


@router.post(
    "/recalls",
    status_code=201,
    response_model=RecallPublic,
    responses=problems({409: ["ALREADY_RECALLED"], 422: ["UNKNOWN_COMPONENT_TYPE"]}),
)
async def create_recall(
    data: RecallCreate, actor: CurrentUser, session: SessionDep
) -> RecallPublic:
    """Recall every lot received under a supplier lot, block its future receipts, and hold the
    impact: lots, batches at any depth, and units still available."""
    return await recalls.public(session, await recalls.create(session, actor, data))


@router.get("/recalls", response_model=Page[RecallPublic])
async def list_recalls(session: SessionDep, paging: PagingDep) -> Page[RecallPublic]:
    rows, total = await recalls.list_recalls(session, limit=paging.limit, offset=paging.offset)
    return Page(items=[await recalls.public(session, r) for r in rows], total=total)


@router.get("/recalls/{recall_id}", response_model=RecallPublic)
async def get_recall(
    recall_id: Annotated[int, Path(ge=1, le=2**31 - 1)], session: SessionDep
) -> RecallPublic:
    return await recalls.public(session, await recalls.get(session, recall_id))
