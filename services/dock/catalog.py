"""Component types: create, read, and signed corrections."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.catalog import (
    ComponentType,
    ComponentTypeChanges,
    ComponentTypeCreate,
    ComponentTypePublic,
)
from models.signatures import SignatureIn
from models.users import User
from services.barcodes.gtin import normalise_gtin
from services.errors import AlreadyExists, Invalid, NotFound
from services.trust import audit
from services.trust.signatures import sign


# A type's code never changes, so it is cached.
def public(component_type: ComponentType) -> ComponentTypePublic:
    return ComponentTypePublic.model_validate(component_type, from_attributes=True)


def _valid_gtin(gtin: str | None) -> str | None:
    if gtin is None:
        return None
    try:
        return normalise_gtin(gtin)
    except ValueError as exc:
        raise Invalid(
            f"GTIN '{gtin}' is not valid: {exc}",
            code="VALIDATION_ERROR",
            errors=[{"field": "gtin", "message": str(exc)}],
        ) from exc


async def get(session: AsyncSession, code: str) -> ComponentType:
    found = (
        await session.execute(select(ComponentType).where(col(ComponentType.code) == code))
    ).scalar_one_or_none()
    if found is None:
        raise NotFound(f"Component type '{code}' does not exist.", code="COMPONENT_TYPE_NOT_FOUND")
    return found


async def referenced(
    session: AsyncSession, code: str, field: str = "component_type"
) -> ComponentType:
    """A component type named inside a body: unknown is 422, not 404 (the path exists)."""
    try:
        return await get(session, code)
    except NotFound as exc:
        raise Invalid(
            exc.detail,
            code="UNKNOWN_COMPONENT_TYPE",
            errors=[{"field": field, "message": f"no component type '{code}'"}],
        ) from exc


async def by_gtin(session: AsyncSession, gtin: str) -> ComponentType | None:
    return (
        await session.execute(select(ComponentType).where(col(ComponentType.gtin) == gtin))
    ).scalar_one_or_none()


async def list_types(
    session: AsyncSession, *, limit: int, offset: int
) -> tuple[Sequence[ComponentType], int]:
    total = (await session.execute(select(func.count()).select_from(ComponentType))).scalar_one()
    rows = (
        (
            await session.execute(
                select(ComponentType).order_by(col(ComponentType.code)).limit(limit).offset(offset)
            )
        )
        .scalars()
        .all()
    )
    return rows, total


async def create(session: AsyncSession, actor: User, data: ComponentTypeCreate) -> ComponentType:
    gtin = _valid_gtin(data.gtin)
    if (
        await session.execute(
            select(col(ComponentType.id)).where(col(ComponentType.code) == data.code)
        )
    ).first():
        raise AlreadyExists(f"Component type '{data.code}' exists already.")
    if gtin is not None:
        await _gtin_free(session, gtin)
    component_type = ComponentType(
        **data.model_dump(exclude={"gtin"}),
        gtin=gtin,
        created_at=utcnow(),
        created_by=actor.username,
    )
    session.add(component_type)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise AlreadyExists(f"Component type '{data.code}' or its GTIN exists already.") from exc
    await audit.append(
        session,
        actor=actor.username,
        action="component_type.create",
        entity_type="component_type",
        entity_id=component_type.code,
        after=audit.snapshot(public(component_type)),
    )
    return component_type


async def _gtin_free(session: AsyncSession, gtin: str, *, other_than: int | None = None) -> None:
    holder = await by_gtin(session, gtin)
    if holder is not None and holder.id != other_than:
        raise AlreadyExists(f"GTIN {gtin} already names component type '{holder.code}'.")


NOT_NULLABLE = frozenset({"name", "category", "risk", "has_expiry", "expiry_warning_days"})


async def correct(
    session: AsyncSession,
    actor: User,
    code: str,
    changes: ComponentTypeChanges,
    reason: str,
    signature: SignatureIn,
) -> ComponentType:
    """A signed correction: before and after go to the audit trail."""
    component_type = await get(session, code)
    given: dict[str, Any] = {name: getattr(changes, name) for name in changes.model_fields_set}
    if "gtin" in given:
        given["gtin"] = _valid_gtin(given["gtin"])
    if not given:
        raise Invalid("Name at least one field to change.", code="NO_CHANGES")
    nulled = sorted(name for name, value in given.items() if value is None and name in NOT_NULLABLE)
    if nulled:
        raise Invalid(
            f"{', '.join(nulled)} cannot be cleared.",
            errors=[{"field": f"changes.{n}", "message": "cannot be null"} for n in nulled],
        )
    if "hold_hours" in given and given["hold_hours"] is not None and not component_type.is_assembly:
        raise Invalid("hold_hours applies only to assembly types.", code="VALIDATION_ERROR")
    signer = await sign(session, actor, signature)
    if given.get("gtin") is not None:
        await _gtin_free(session, given["gtin"], other_than=component_type.id)
    async with audit.changing(
        session,
        lambda: public(component_type),
        actor=actor.username,
        action="component_type.correct",
        entity_type="component_type",
        entity_id=component_type.code,
        reason=reason,
    ) as change:
        for name, value in given.items():
            setattr(component_type, name, value)
        await change.seal(signer)
    return component_type
