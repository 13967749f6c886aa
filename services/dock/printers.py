"""Label printers the admin registers, and the registered versions of the ZPL templates.

A template file lives in the repository (services/barcodes/zpl); what may print is a registered
version of it. QA registers it with a signature (labeling is under change control; the admin,
who runs the equipment, does not decide what a label says): the file as deployed is numbered
(1, 2, ...), its bytes and SHA-256 kept, and a signed `label_template.register` audit event
holds the reason and the whole body, so a change of what labels look like is reviewed,
attributed and on the audit trail. A
file whose bytes are not a registered version prints nothing (409 TEMPLATE_NOT_REGISTERED)
until an admin registers it; every print job records the version and SHA-256 it printed with.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.labels import (
    LabelTemplate,
    Printer,
    PrinterCreate,
    PrinterPublic,
    TemplateRegister,
    TemplateState,
    TemplateVersion,
)
from models.users import User
from services.barcodes import zpl
from services.errors import AlreadyExists, Conflict, Invalid, NotFound
from services.trust import audit
from services.trust.signatures import sign


def public(printer: Printer) -> PrinterPublic:
    return PrinterPublic.model_validate(printer, from_attributes=True)


async def create(session: AsyncSession, actor: User, data: PrinterCreate) -> Printer:
    taken = (
        await session.execute(select(Printer).where(col(Printer.name) == data.name))
    ).scalar_one_or_none()
    if taken is not None:
        raise AlreadyExists(f"Printer '{data.name}' is registered already.", code="PRINTER_EXISTS")
    printer = Printer(**data.model_dump(), created_at=utcnow(), created_by=actor.username)
    session.add(printer)
    await session.flush()
    await audit.append(
        session,
        actor=actor.username,
        action="printer.create",
        entity_type="printer",
        entity_id=printer.name,
        after=audit.snapshot(public(printer)),
    )
    return printer


async def list_printers(session: AsyncSession) -> Sequence[Printer]:
    return (await session.execute(select(Printer).order_by(col(Printer.name)))).scalars().all()


async def find(session: AsyncSession, name: str) -> Printer | None:
    return (
        await session.execute(select(Printer).where(col(Printer.name) == name))
    ).scalar_one_or_none()


async def get(session: AsyncSession, name: str) -> Printer:
    printer = await find(session, name)
    if printer is None:
        raise NotFound(f"Printer '{name}' is not registered.", code="PRINTER_NOT_FOUND")
    return printer


async def deactivate(session: AsyncSession, actor: User, printer: Printer) -> Printer:
    if not printer.active:
        raise Conflict(f"Printer '{printer.name}' is inactive already.", code="PRINTER_INACTIVE")
    async with audit.changing(
        session,
        lambda: public(printer),
        actor=actor.username,
        action="printer.deactivate",
        entity_type="printer",
        entity_id=printer.name,
    ):
        printer.active = False
    return printer


# --- templates -------------------------------------------------------------------------------


def known_template(name: str) -> str:
    """`name` when it is one of the service's label templates."""
    if name not in zpl.TEMPLATE_NAMES:
        raise NotFound(
            f"Label template '{name}' does not exist; the templates are "
            f"{', '.join(zpl.TEMPLATE_NAMES)}.",
            code="TEMPLATE_NOT_FOUND",
        )
    return name


def _load(name: str, folder: Path) -> zpl.Template:
    try:
        return zpl.load_template(name, folder)
    except zpl.TemplateError as exc:
        raise Invalid(str(exc), code="TEMPLATE_INVALID") from exc


def _version(row: LabelTemplate) -> TemplateVersion:
    return TemplateVersion.model_validate(row, from_attributes=True)


async def _versions(session: AsyncSession, name: str) -> list[LabelTemplate]:
    return list(
        (
            await session.execute(
                select(LabelTemplate)
                .where(col(LabelTemplate.name) == name)
                .order_by(col(LabelTemplate.version))
            )
        )
        .scalars()
        .all()
    )


async def template_states(session: AsyncSession, folder: Path) -> list[TemplateState]:
    states = []
    for name in zpl.TEMPLATE_NAMES:
        template = _load(name, folder)
        versions = await _versions(session, name)
        current = next((v.version for v in versions if v.sha256 == template.sha256), None)
        states.append(
            TemplateState(
                name=name,
                file_sha256=template.sha256,
                registered_version=current,
                versions=[_version(v) for v in versions],
            )
        )
    return states


async def register_template(
    session: AsyncSession, actor: User, name: str, data: TemplateRegister, folder: Path
) -> LabelTemplate:
    """Register the template file as deployed as the next version of `name`, signed by QA."""
    template = _load(name, folder)
    reason = data.reason
    versions = await _versions(session, name)
    same = next((v for v in versions if v.sha256 == template.sha256), None)
    if same is not None:
        raise Conflict(
            f"Label template '{name}' as deployed (sha256 {template.sha256[:12]}...) is "
            f"registered already as version {same.version}.",
            code="TEMPLATE_ALREADY_REGISTERED",
        )
    signer = await sign(session, actor, data.signature)
    last = versions[-1] if versions else None
    # The unique (name, version) constraint decides between two admins registering at once.
    version = (
        await session.execute(
            select(func.coalesce(func.max(col(LabelTemplate.version)), 0)).where(
                col(LabelTemplate.name) == name
            )
        )
    ).scalar_one() + 1
    row = LabelTemplate(
        name=name,
        version=version,
        sha256=template.sha256,
        body=template.body,
        registered_at=utcnow(),
        registered_by=actor.username,
        reason=reason,
    )
    session.add(row)
    await session.flush()
    after = {**(audit.snapshot(_version(row)) or {}), "body": template.body}
    await audit.append(
        session,
        actor=actor.username,
        action="label_template.register",
        entity_type="label_template",
        entity_id=f"{name} v{version}",
        before=None if last is None else audit.snapshot(_version(last)),
        after=after,
        reason=reason,
        signature=signer.seal(after),
    )
    return row


async def current_template(
    session: AsyncSession, name: str, folder: Path
) -> tuple[zpl.Template, LabelTemplate]:
    """The template file as deployed and its registered version; refused when unregistered."""
    template = _load(name, folder)
    row = (
        await session.execute(
            select(LabelTemplate).where(
                col(LabelTemplate.name) == name, col(LabelTemplate.sha256) == template.sha256
            )
        )
    ).scalar_one_or_none()
    if row is None:
        raise Conflict(
            f"Label template '{name}' as deployed (sha256 {template.sha256[:12]}...) is not a "
            f"registered version; QA reviews it and registers it with POST "
            f"/api/v1/label-templates/{name}/register before labels can print.",
            code="TEMPLATE_NOT_REGISTERED",
        )
    return template, row
