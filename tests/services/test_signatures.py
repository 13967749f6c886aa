"""The signing service, ready for the signed actions: temporary passwords, seals, lockout."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession

from models.signatures import SignatureIn
from models.users import Role, User, UserCreate
from services.errors import Forbidden
from services.trust import audit, enrolment, signatures, users
from tests.support import PASSWORD


async def _user(session: AsyncSession, *, temporary: bool) -> User:
    """A user just created (no password of their own yet), or one who has enrolled."""
    data = UserCreate(username="signer", full_name="Sam Signer", role=Role.qa)
    now = datetime.now(UTC)
    user, _, code = await users.create_user(session, "admin", data, now, timedelta(hours=1))
    if not temporary:
        await enrolment.exchange(session, user.username, code, now, password=PASSWORD)
    # Committed, as a signer always is: attempts are counted apart from the unit of work.
    await session.commit()
    return user


@pytest.mark.req("URS-044", negative=True)
async def test_temporary_password_cannot_sign(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session:
        user = await _user(session, temporary=True)
        with pytest.raises(Forbidden) as refused:
            await signatures.sign(session, user, SignatureIn(password=PASSWORD, meaning="Release"))
        assert refused.value.code == "PASSWORD_CHANGE_REQUIRED"


@pytest.mark.req("URS-042")
async def test_a_signature_holds_who_when_what_and_the_record_hash(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session:
        user = await _user(session, temporary=False)
        signer = await signatures.sign(
            session, user, SignatureIn(password=PASSWORD, meaning="Released for use")
        )
        record = {"id": 7, "status": "released"}
        seal = signer.seal(record)
    assert seal["username"] == "signer" and seal["full_name"] == "Sam Signer"
    assert seal["meaning"] == "Released for use"
    assert seal["at"].endswith("Z")
    assert seal["record_hash"] == audit.sha256_hex(audit.canonical_json(record))


@pytest.mark.req("URS-043", negative=True)
async def test_wrong_password_is_recorded_and_counted(app: FastAPI) -> None:
    """Each attempt in a unit of work of its own, rolled back after the refusal as a request's
    is: the count and the audit events stay."""
    async with app.state.sessionmaker() as session:
        user_id = (await _user(session, temporary=False)).id

    async def attempt(password: str) -> Forbidden:
        async with app.state.sessionmaker() as session:
            user = await session.get(User, user_id)
            assert user is not None
            with pytest.raises(Forbidden) as refused:
                await signatures.sign(session, user, SignatureIn(password=password, meaning="x"))
            await session.rollback()
            return refused.value

    async def stored() -> User:
        async with app.state.sessionmaker() as session:
            user: User | None = await session.get(User, user_id)
            assert user is not None
            return user

    for count in range(1, 6):
        assert (await attempt("wrong")).code == "SIGNATURE_INVALID"
        assert (await stored()).failed_signatures == count
    assert (await stored()).signing_locked
    assert (await attempt(PASSWORD)).code == "SIGNING_LOCKED"
