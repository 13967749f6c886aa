"""Electronic signatures: the components checked, the lockout, and the stored signature.

A signature is the signer's own identification components plus a meaning: at a desk (or with an
API key) their password; at an enrolled station their badge and PIN. A password set by an admin
(before enrolment codes) is temporary and cannot sign. Five wrong answers in a row lock that
component until an admin unlocks it; each failure is recorded in the audit trail in a
transaction of its own (services/trust/lockout.py), committed though the request is refused and
its unit of work rolled back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from models.base import utcnow
from models.signatures import Signature, SignatureIn
from models.users import User, UserPublic
from services.errors import Forbidden, Invalid
from services.trust import audit, badges, credentials, lockout
from services.trust.lockout import MAX_FAILURES

MAX_FAILED_SIGNATURES = MAX_FAILURES


def user_public(user: User) -> UserPublic:
    return lockout.public(user)


@dataclass(frozen=True)
class Signer:
    """A verified signer, ready to seal the record the action produces."""

    user: User
    meaning: str
    components: tuple[str, ...] = ("password",)
    station: str | None = None

    def seal(self, record: dict[str, Any] | None) -> dict[str, Any]:
        return Signature(
            username=self.user.username,
            full_name=self.user.full_name,
            at=audit.format_at(utcnow()),
            meaning=self.meaning,
            record_hash=audit.sha256_hex(audit.canonical_json(record)),
            components=list(self.components),
            station=self.station,
        ).model_dump()


async def sign(session: AsyncSession, user: User, signature: SignatureIn) -> Signer:
    """Verify a signature by `user` with the components the place calls for; refusals are
    recorded apart and raised as 403."""
    station = credentials.station_of(session)
    if station is not None:
        if signature.badge is None or signature.pin is None:
            raise Invalid(
                f"At station '{station}' a signature is your badge and PIN, not a password.",
                code="BADGE_AND_PIN_REQUIRED",
                errors=[{"field": "signature", "message": "badge and pin required here"}],
            )
        await badges.check_badge_and_pin(session, user, signature.badge, signature.pin)
        return Signer(user, signature.meaning, ("badge", "pin"), station)
    if signature.password is None:
        raise Invalid(
            "Badge and PIN sign only at an enrolled station; here, sign with your password.",
            code="PASSWORD_REQUIRED",
            errors=[{"field": "signature", "message": "password required here"}],
        )
    _refuse_if_locked(user)
    if user.password_temporary:
        raise Forbidden(
            f"User '{user.username}' has no password of their own yet; set it with your "
            "enrolment code (POST /api/v1/enrolment) or POST /api/v1/me/password before signing.",
            code="PASSWORD_CHANGE_REQUIRED",
        )
    await check_password(session, user, signature.password)
    return Signer(user=user, meaning=signature.meaning)


async def check_password(session: AsyncSession, user: User, password: str) -> None:
    """Check `user`'s own password; a wrong one counts towards the lockout."""
    _refuse_if_locked(user)
    refusal = await lockout.check(session, user, lockout.PASSWORD, password, action="signature")
    if refusal is None:
        return
    if refusal.was_locked:
        _refuse_if_locked(user)
    detail = "The password does not match; the signature was refused and recorded."
    if refusal.locked:
        detail += f" Signing is now locked after {MAX_FAILURES} failures; ask an admin."
    raise Forbidden(detail, code="SIGNATURE_INVALID")


def _refuse_if_locked(user: User) -> None:
    if user.signing_locked:
        raise Forbidden(
            f"Signing is locked for '{user.username}' after {MAX_FAILURES} failed "
            "attempts with the password; an admin must unlock it.",
            code="SIGNING_LOCKED",
        )
