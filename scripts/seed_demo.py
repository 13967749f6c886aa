"""Seed demo data for a newcomer: one user of each role with a known key and password.

Run after `alembic upgrade head`, with the same DATABASE_URL. Does nothing when the demo users
exist already. Never point it at a production database: the demo keys are public.
"""

from __future__ import annotations

import asyncio

from sqlalchemy import func, select
from sqlmodel import col

from models.users import Role, User, UserCreate
from services import users
from services.config import Settings
from services.db import make_engine, make_sessionmaker

DEMO_PASSWORD = "demo password 1234"
DEMO_USERS = [
    ("olivia", "Olivia Operator", Role.operator),
    ("sam", "Sam Supervisor", Role.supervisor),
    ("walt", "Walt Warehouse", Role.warehouse),
    ("quinn", "Quinn QA", Role.qa),
    ("audrey", "Audrey Auditor", Role.auditor),
]


def demo_key(username: str) -> str:
    return f"demo-{username}-key"


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
            for username, full_name, role in DEMO_USERS:
                data = UserCreate(
                    username=username, full_name=full_name, role=role, password=DEMO_PASSWORD
                )
                await users.create_user(session, "system", data, temporary=False)
                await users.install_key(session, "system", username, demo_key(username))
                lines.append(f"  {role.value:<10} {username:<7} key: {demo_key(username)}")
    finally:
        await engine.dispose()
    return ["demo users (password for signatures: 'demo password 1234'):", *lines]


def main() -> None:
    for line in asyncio.run(seed(Settings())):
        print(line)


if __name__ == "__main__":
    main()
