"""Electronic signatures (21 CFR 11.50, 11.70, 11.200)."""

from __future__ import annotations

from typing import Annotated

from pydantic import StringConstraints
from sqlmodel import SQLModel

from models.base import Meaning


class SignatureIn(SQLModel):
    """The acting user's own password and what the signature means ("Released for use")."""

    password: Annotated[str, StringConstraints(min_length=1, max_length=256)]
    meaning: Meaning


class Signature(SQLModel):
    """A stored signature, shown wherever the signed record is shown."""

    username: str
    full_name: str
    at: str
    meaning: str
    record_hash: str
