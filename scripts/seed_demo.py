"""Seed demo data for a newcomer: users of each role, component types, lots, units.

Users enrol with a known password and PIN, get known keys and badges, so that a newcomer can try
receipts, releases and labels at once from /docs, and a station (LINE-1) waits to be enrolled.
The QA actions are signed by the demo QA user, so the audit trail reads as it would in real use.

Run after `alembic upgrade head`, with the same DATABASE_URL. Does nothing when the demo users
exist already. Never point it at a production database: the demo keys are public.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.catalog import ComponentTypeCreate, Risk, Tracking
from models.labels import TemplateRegister
from models.lots import Inspection, Lot, LotCreate, LotStatus, LotStatusChange, RecallCreate
from models.people import StationCreate, StationKind
from models.signatures import SignatureIn
from models.units import UnitsCreate
from models.users import Role, User, UserCreate
from services.barcodes import zpl
from services.clock import today_in
from services.config import Settings
from services.db import make_engine, make_sessionmaker
from services.dock import catalog, printers, receiving, units
from services.quality import lot_status, recalls
from services.trust import badges, enrolment, stations, users

DEMO_PASSWORD = "demo password 1234"
DEMO_PIN = "1234"
DEMO_USERS = [
    ("olivia", "Olivia Operator", Role.operator),
    ("sam", "Sam Supervisor", Role.supervisor),
    ("walt", "Walt Warehouse", Role.warehouse),
    ("quinn", "Quinn QA", Role.qa),
    ("audrey", "Audrey Auditor", Role.auditor),
]


def demo_key(username: str) -> str:
    return f"demo-{username}-key"


def demo_badge(username: str) -> str:
    return f"BADGE-{username.upper()}"


async def seed(settings: Settings) -> list[str]:
    """Create the demo data; returns lines to print."""
    engine = make_engine(settings)
    sessionmaker = make_sessionmaker(engine)
    lines: list[str] = []
    try:
        async with sessionmaker() as session, session.begin():
            if settings.bootstrap_admin_key:
                await users.bootstrap_admin(session, settings.bootstrap_admin_key)
            have = (
                await session.execute(
                    select(func.count()).select_from(User).where(col(User.username) == "olivia")
                )
            ).scalar_one()
            if have:
                return ["demo data already present"]
            now = utcnow()
            for username, full_name, role in DEMO_USERS:
                data = UserCreate(username=username, full_name=full_name, role=role)
                user, _, code = await users.create_user(
                    session, "system", data, now, settings.enrolment_valid
                )
                # Each demo user enrols as a real one would: their own password and PIN.
                await enrolment.exchange(
                    session, username, code, now, password=DEMO_PASSWORD, pin=DEMO_PIN
                )
                await users.install_key(session, "system", username, demo_key(username))
                await badges.register(session, "system", user, demo_badge(username), now)
                lines.append(
                    f"  {role.value:<10} {username:<7} key: {demo_key(username):<20} "
                    f"badge: {demo_badge(username)}"
                )
            _, station_code = await stations.create(
                session,
                "system",
                StationCreate(name="LINE-1", location="Cleanroom B, line 1", kind=StationKind.line),
                now,
                settings.enrolment_valid,
            )
            lines.append(
                f"  station LINE-1: enrol a browser with code {station_code} "
                "(POST /api/v1/station/enrol)"
            )
            lines += await _seed_warehouse(session)
    finally:
        await engine.dispose()
    return [
        f"demo users (password '{DEMO_PASSWORD}' to sign in and sign; PIN {DEMO_PIN}):",
        *lines,
    ]


DEMO_TYPES = [
    ComponentTypeCreate(
        code="BAG-CRYO-250",
        name="Cryopreservation bag 250 mL",
        category="bag",
        tracking=Tracking.serial,
        risk=Risk.high,
        gtin="10614141000729",
        manufacturer="Example Cryo Ltd",
        catalog_number="CB-250",
    ),
    ComponentTypeCreate(
        code="TUBESET-A",
        name="Transfer tubing set A",
        category="tubing",
        tracking=Tracking.lot,
        risk=Risk.medium,
        gtin="00614141003198",
        manufacturer="Example Fluidics",
        catalog_number="TS-A",
    ),
    ComponentTypeCreate(
        code="FILTER-02",
        name="Sterile filter 0.2 um",
        category="filter",
        tracking=Tracking.lot,
        risk=Risk.high,
        gtin="04006381333931",
        manufacturer="Example Filtration",
    ),
    ComponentTypeCreate(
        code="CONN-LL",
        name="Needle-free Luer-lock connector",
        category="connector",
        tracking=Tracking.lot,
        risk=Risk.low,
    ),
]


async def _seed_warehouse(session: AsyncSession) -> list[str]:
    """Component types, and lots in each status, some with units."""
    qa = await users.get_user(session, "quinn")
    walt = await users.get_user(session, "walt")
    sign = SignatureIn(password=DEMO_PASSWORD, meaning="Demo data")
    today = today_in(Settings().zone)
    for data in DEMO_TYPES:
        await catalog.create(session, qa, data)
    inspection = Inspection(coa_reviewed=True, packaging_intact=True, label_correct=True)

    async def receive(code: str, supplier_lot: str, quantity: int, days: int) -> Lot:
        lot, _ = await receiving.receive(
            session,
            walt,
            LotCreate(
                component_type=code,
                supplier_lot=supplier_lot,
                quantity=quantity,
                expiry_date=today + timedelta(days=days),
                supplier="Demo supplier",
                coa_ref=f"COA-{supplier_lot}",
            ),
            today,
        )
        return lot

    async def move(lot: Lot, status: LotStatus, reason: str) -> None:
        change = LotStatusChange(
            status=status,
            reason=reason,
            signature=sign,
            inspection=inspection if status == LotStatus.released else None,
        )
        await lot_status.change_status(session, qa, lot.id or 0, change, today)

    bags = await receive("BAG-CRYO-250", "BB2406-17A", 20, 400)
    await units.register(session, walt, bags, UnitsCreate(count=5))
    await move(bags, LotStatus.released, "CoA and incoming inspection passed")
    await receive("BAG-CRYO-250", "BB2407-02C", 10, 500)  # stays quarantined
    tubing = await receive("TUBESET-A", "TS-55821", 50, 20)  # expires soon
    await move(tubing, LotStatus.released, "CoA and incoming inspection passed")
    filters = await receive("FILTER-02", "FX-0099", 30, 300)
    await move(filters, LotStatus.rejected, "Damaged outer packaging on arrival")
    connectors = await receive("CONN-LL", "CL-7731", 100, 700)
    await move(connectors, LotStatus.released, "CoA and incoming inspection passed")
    await recalls.create(
        session,
        qa,
        RecallCreate(
            component_type="CONN-LL",
            supplier_lot="CL-7731",
            notice_ref="FSN-2026-014",
            reason="Supplier field safety notice: cracked housings",
            signature=sign,
        ),
    )
    # A fresh installation's QA registers the ZPL label templates as shipped, once.
    templates = TemplateRegister(reason="Label templates as shipped", signature=sign)
    for name in zpl.TEMPLATE_NAMES:
        await printers.register_template(session, qa, name, templates, zpl.TEMPLATE_DIR)
    return [
        "demo data: 4 component types; lots released, quarantined, rejected and recalled;",
        "  ZPL label templates registered (add a printer with POST /api/v1/printers);",
        "  5 bag units in lot L-000001 (try GET /api/v1/units/U-00000001 and its /label).",
        "  Receive by scan: POST /api/v1/receipts/scan with a GS1 string such as",
        r'  "]d20110614141000729172706001' + r'0BB2406-17A\u001d21SN000123".',
    ]


def main() -> None:
    for line in asyncio.run(seed(Settings())):
        print(line)


if __name__ == "__main__":
    main()
