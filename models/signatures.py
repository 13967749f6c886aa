"""Electronic signatures (21 CFR 11.50, 11.70, 11.200)."""

from __future__ import annotations

from sqlmodel import SQLModel

from models.base import Meaning
from models.users import AnyPassword


class SignatureIn(SQLModel):
    """The acting user's own password and what the signature means ("Released for use")."""

    password: AnyPassword
    meaning: Meaning


class Signature(SQLModel):
    """A stored signature, shown wherever the signed record is shown."""

    username: str
    full_name: str
    at: str
    meaning: str
    record_hash: str
