"""Electronic signatures (21 CFR 11.50, 11.70, 11.200)."""

from __future__ import annotations

from typing import Annotated, Self

from pydantic import StringConstraints, model_validator
from sqlmodel import SQLModel

from models.base import Meaning, Text
from models.users import AnyPassword, AnyPin

BadgeText = Annotated[str, StringConstraints(min_length=1, max_length=128), Text]


class SignatureIn(SQLModel):
    """Who signs, by the two components of their identity, and what the signature means
    ("Released for use"). At a desk, or with an API key: the signer's own `password`. At an
    enrolled station: the signer's `badge` and `pin`."""

    password: AnyPassword | None = None
    badge: BadgeText | None = None
    pin: AnyPin | None = None
    meaning: Meaning

    @model_validator(mode="after")
    def _one_way(self) -> Self:
        by_badge = self.badge is not None or self.pin is not None
        if self.password is None and not by_badge:
            raise ValueError("a signature needs your password (or, at a station, badge and PIN)")
        if self.password is not None and by_badge:
            raise ValueError("sign with your password or with badge and PIN, not both")
        if by_badge and (self.badge is None or self.pin is None):
            raise ValueError("a signature at a station needs both the badge and the PIN")
        return self


class Signature(SQLModel):
    """A stored signature, shown wherever the signed record is shown."""

    username: str
    full_name: str
    at: str
    meaning: str
    record_hash: str
    # The identification components the signer gave: ["password"] or ["badge", "pin"].
    components: list[str] = ["password"]
    station: str | None = None
