"""Electronic signatures: the password check, the lockout, and the stored signature.

A signature is the acting user's own password plus a meaning. A password set by an admin is
temporary and cannot sign. Five wrong passwords in a row lock signing until an admin unlocks it;
each failure is recorded in the audit trail and committed even though the request is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from models.base import utcnow
from models.signatures import Signature, SignatureIn
from models.users import User, UserPublic
from services.errors import Forbidden, recorded
from services.trust import audit
from services.trust.passwords import verify_password

MAX_FAILED_SIGNATURES = 5


def user_public(user: User) -> UserPublic:
    return UserPublic.model_validate(user, from_attributes=True)


@dataclass(frozen=True)
class Signer:
    """A verified signer, ready to seal the record the action produces."""

    user: User
    meaning: str

    def seal(self, record: dict[str, Any] | None) -> dict[str, Any]:
        return Signature(
            username=self.user.username,
            full_name=self.user.full_name,
            at=audit.format_at(utcnow()),
            meaning=self.meaning,
            record_hash=audit.sha256_hex(audit.canonical_json(record)),
        ).model_dump()


async def sign(session: AsyncSession, user: User, signature: SignatureIn) -> Signer:
    """Verify a signature by `user`; refusals are recorded and raised as 403."""
    _refuse_if_locked(user)
    if user.password_temporary:
        raise Forbidden(
            f"User '{user.username}' still has a temporary password; set your own with "
            "POST /api/v1/me/password before signing.",
            code="PASSWORD_CHANGE_REQUIRED",
        )
    await check_password(session, user, signature.password)
    return Signer(user=user, meaning=signature.meaning)


async def check_password(session: AsyncSession, user: User, password: str) -> None:
    """Check `user`'s own password; a wrong one counts towards the signing lockout."""
    _refuse_if_locked(user)
    if await verify_password(user.password_hash, password):
        if user.failed_signatures:
            user.failed_signatures = 0
            await session.flush()
        return
    before = audit.snapshot(user_public(user))
    # Counted in SQL so that concurrent failures all count.
    failed, locked = (
        await session.execute(
            update(User)
            .where(col(User.id) == user.id)
            .values(
                failed_signatures=col(User.failed_signatures) + 1,
                signing_locked=(col(User.failed_signatures) + 1) >= MAX_FAILED_SIGNATURES,
            )
            .returning(col(User.failed_signatures), col(User.signing_locked))
        )
    ).one()
    await session.refresh(user)
    await audit.append(
        session,
        actor=user.username,
        action="signature.lockout" if locked else "signature.fail",
        entity_type="user",
        entity_id=user.username,
        before=before,
        after=audit.snapshot(user_public(user)),
        reason=f"Wrong password ({failed} in a row).",
    )
    detail = "The password does not match; the signature was refused and recorded."
    if locked:
        detail += f" Signing is now locked after {MAX_FAILED_SIGNATURES} failures; ask an admin."
    raise recorded(Forbidden(detail, code="SIGNATURE_INVALID"))


def _refuse_if_locked(user: User) -> None:
    if user.signing_locked:
        raise Forbidden(
            f"Signing is locked for '{user.username}' after {MAX_FAILED_SIGNATURES} failed "
            "signatures; an admin must unlock it.",
            code="SIGNING_LOCKED",
        )
