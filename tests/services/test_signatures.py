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
    async with app.state.sessionmaker() as session:
        user = await _user(session, temporary=False)
        for attempt in range(1, 6):
            with pytest.raises(Forbidden) as refused:
                await signatures.sign(session, user, SignatureIn(password="wrong", meaning="x"))
            assert refused.value.code == "SIGNATURE_INVALID" and refused.value.commit
            assert user.failed_signatures == attempt
        assert user.signing_locked
        with pytest.raises(Forbidden) as refused:
            await signatures.sign(session, user, SignatureIn(password=PASSWORD, meaning="x"))
        assert refused.value.code == "SIGNING_LOCKED"
