"""Component types (create and correct: qa)."""

from __future__ import annotations

from api.deps import ComponentTypeDep, CurrentUser, PagingDep, SessionDep
from api.openapi import problems
from api.routes import secured_router
from models.catalog import ComponentTypeCorrection, ComponentTypeCreate, ComponentTypePublic
from models.common import Page
from services.dock import catalog

router = secured_router("component types")


@router.post(
    "/component-types",
    status_code=201,
    response_model=ComponentTypePublic,
    responses=problems({409: ["ALREADY_EXISTS"]}),
)
async def create_component_type(
    data: ComponentTypeCreate, actor: CurrentUser, session: SessionDep
) -> ComponentTypePublic:
    """Register a component type; a GTIN must carry a correct check digit."""
    return catalog.public(await catalog.create(session, actor, data))


@router.get("/component-types", response_model=Page[ComponentTypePublic])
async def list_component_types(session: SessionDep, paging: PagingDep) -> Page[ComponentTypePublic]:
    rows, total = await catalog.list_types(session, limit=paging.limit, offset=paging.offset)
    return Page(items=[catalog.public(t) for t in rows], total=total)


@router.get("/component-types/{code}", response_model=ComponentTypePublic)
async def get_component_type(component_type: ComponentTypeDep) -> ComponentTypePublic:
    return catalog.public(component_type)


@router.post(
    "/component-types/{code}/correct",
    response_model=ComponentTypePublic,
    responses=problems({409: ["ALREADY_EXISTS"], 422: ["NO_CHANGES", "INVALID"]}),
)
async def correct_component_type(
    component_type: ComponentTypeDep,
    body: ComponentTypeCorrection,
    actor: CurrentUser,
    session: SessionDep,
) -> ComponentTypePublic:
    """A signed correction; code, tracking and is_assembly cannot change."""
    corrected = await catalog.correct(
        session, actor, component_type.code, body.changes, body.reason, body.signature
    )
    return catalog.public(corrected)
