"""`audit.changing`, the one way a service records a change to a record: one event with the record
before and after and the signature sealed on the way, or nothing when the change fails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from models.signatures import SignatureIn
from models.users import Role, User, UserCreate, UserPublic
from services.trust import audit, enrolment, signatures, users
from tests.support import PASSWORD


async def _user(app: FastAPI) -> int:
    """A committed user with a password of their own, who can sign."""
    async with app.state.sessionmaker() as session:
        data = UserCreate(username="ann", full_name="Ann Able", role=Role.qa)
        now = datetime.now(UTC)
        user, _, code = await users.create_user(session, "admin", data, now, timedelta(hours=1))
        await enrolment.exchange(session, user.username, code, now, password=PASSWORD)
        await session.commit()
        assert user.id is not None
        return user.id


async def _events(session: AsyncSession, action: str) -> list[Any]:
    rows, _ = await audit.query(
        session,
        entity_type="user",
        entity_id="ann",
        actor=None,
        action=action,
        since=None,
        until=None,
        limit=10,
        offset=0,
    )
    return list(rows)


@pytest.mark.req("URS-038")
async def test_a_change_is_one_event_with_before_after_and_seal(app: FastAPI) -> None:
    user_id = await _user(app)
    async with app.state.sessionmaker() as session:
        user = await session.get_one(User, user_id)
        signer = await signatures.sign(session, user, SignatureIn(password=PASSWORD, meaning="x"))

        async def shown() -> UserPublic:  # a snapshot that reads, as a batch's or a lot's does
            return users.public(user)

        async with audit.changing(
            session,
            shown,
            actor="admin",
            action="user.rename",
            entity_type="user",
            entity_id=user.username,
            reason="Name corrected.",
        ) as change:
            user.full_name = "Ann Baker"
            seal = await change.seal(signer)
            user.role = Role.supervisor  # after the seal: in the event's after, not in the seal
        await session.commit()
    async with app.state.sessionmaker() as session:
        [event] = await _events(session, "user.rename")
    assert (event.actor, event.entity_type, event.entity_id) == ("admin", "user", "ann")
    assert event.reason == "Name corrected."
    changed = {k for k in event.after if event.before[k] != event.after[k]}
    assert changed == {"full_name", "role"}
    assert event.before["full_name"] == "Ann Able" and event.after["full_name"] == "Ann Baker"
    assert event.signature == seal
    sealed = {**event.after, "role": "qa"}
    assert seal["record_hash"] == audit.sha256_hex(audit.canonical_json(sealed))


@pytest.mark.req("URS-038", negative=True)
async def test_a_change_that_raises_records_nothing(app: FastAPI) -> None:
    user_id = await _user(app)
    async with app.state.sessionmaker() as session:
        user = await session.get_one(User, user_id)
        with pytest.raises(LookupError):
            async with audit.changing(
                session,
                lambda: users.public(user),
                actor="admin",
                action="user.rename",
                entity_type="user",
                entity_id=user.username,
            ):
                user.full_name = "Ann Baker"
                raise LookupError("the change found something wrong")
        assert await _events(session, "user.rename") == []  # not even uncommitted
        await session.rollback()  # as the unit of work does when a request raises
    async with app.state.sessionmaker() as session:
        assert (await session.get_one(User, user_id)).full_name == "Ann Able"
        assert await _events(session, "user.rename") == []
