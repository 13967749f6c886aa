"""The credential a unit of work acts through, recorded on every audit event it writes.

The API binds it to the database session once the caller is known; `audit.append` and the
signing service read it from there, so no service needs it passed by hand and none can forget it.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

_KEY = "credential"


@dataclass(frozen=True)
class Credential:
    """How the actor was known: an API key, a desk session, a station (with the badge and the
    session of the person signed in there), an enrolment code, or a typed password."""

    kind: str  # key | session | station | enrolment | password
    key_id: int | None = None
    session_id: int | None = None
    station: str | None = None
    badge_id: int | None = None
    enrolment_id: int | None = None

    def record(self) -> dict[str, Any]:
        """The audit form: the kind and whichever ids it has."""
        return {k: v for k, v in asdict(self).items() if v is not None}


def bind(session: AsyncSession, credential: Credential) -> None:
    session.info[_KEY] = credential


def of(session: AsyncSession) -> Credential | None:
    credential: Credential | None = session.info.get(_KEY)
    return credential


def station_of(session: AsyncSession) -> str | None:
    """The station this unit of work acts at, when it came through a station credential."""
    credential = of(session)
    return credential.station if credential is not None else None


def new_secret() -> str:
    """A 256-bit random token (API keys, session tokens, station credentials)."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """What is stored of a secret: its SHA-256. The secrets are random, so no salt is needed."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def csrf_token(secret: str) -> str:
    """The CSRF token of a cookie credential: derived from it, so a page rendered for the
    request can compute it and a cross-site page, which cannot read the cookie, cannot."""
    return digest("sutrace-csrf:" + secret)


_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud, typed by hand


def new_code() -> str:
    """A one-time enrolment code: 20 characters (100 bits) in groups of five."""
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(20))
    return "-".join(raw[i : i + 5] for i in range(0, 20, 5))


def code_digest(code: str) -> str:
    """Codes are compared without dashes, spaces or case, as people type them."""
    return digest("".join(c for c in code.upper() if c.isalnum()))
