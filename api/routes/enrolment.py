"""Enrolment: a person exchanges the one-time code an admin gave them for their own secrets."""

from __future__ import annotations

from api.deps import NowDep, SessionDep
from api.openapi import problems
from api.routes import open_router
from models.people import Enrol, Enrolled
from models.users import KeyCreated
from services.trust import enrolment, users

router = open_router("enrolment")


@router.post(
    "/enrolment", response_model=Enrolled, responses=problems({401: ["ENROLMENT_INVALID"]})
)
async def enrol(body: Enrol, session: SessionDep, now: NowDep) -> Enrolled:
    """Use your enrolment code, once: set your own password (12+ characters), optionally your
    PIN (4-12 digits), and optionally take an API key of your own (`"key": true`, shown once).
    The admin who issued the code never learns any of them."""
    done = await enrolment.exchange(
        session,
        body.username,
        body.code,
        now,
        password=body.password,
        pin=body.pin,
        want_key=body.key,
    )
    key = None
    if done.key is not None:
        row, raw = done.key
        key = KeyCreated(id=row.id or 0, key=raw)
    return Enrolled(user=users.public(done.user), key=key)
