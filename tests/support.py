"""Test helpers: users of each role with their own keys and passwords, problem assertions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from models.users import Role, UserCreate
from services import users

ADMIN_KEY = "test-bootstrap-admin-key-0123456789abcdef"
PASSWORD = "correct horse battery staple"


@dataclass
class Actor:
    username: str
    role: Role
    key: str
    password: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key}"}

    def signature(self, meaning: str = "Approved", password: str | None = None) -> dict[str, str]:
        return {"password": password or self.password, "meaning": meaning}


class Actors:
    """Creates users on demand through the services, with passwords of their own."""

    def __init__(self, app: FastAPI, client: httpx.AsyncClient) -> None:
        self.app = app
        self.client = client
        self._made: dict[str, Actor] = {}
        self.admin = Actor("admin", Role.admin, ADMIN_KEY, "")

    async def get(self, role: Role | str, name: str | None = None) -> Actor:
        role = Role(role)
        username = name or f"{role.value}1"
        if username in self._made:
            return self._made[username]
        async with self.app.state.sessionmaker() as session, session.begin():
            data = UserCreate(
                username=username,
                full_name=f"Test {username.title()}",
                role=role,
                password=PASSWORD,
            )
            await users.create_user(session, "admin", data, temporary=False)
            _, key = await users.create_key(session, "admin", username)
        actor = Actor(username, role, key, PASSWORD)
        self._made[username] = actor
        return actor


def assert_problem(
    response: httpx.Response, status: int, code: str | None = None
) -> dict[str, Any]:
    """The response is an RFC 9457 problem with this status (and code)."""
    assert response.status_code == status, (response.status_code, response.text)
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = response.json()
    assert body["status"] == status
    assert isinstance(body["detail"], str) and body["detail"]
    assert {"type", "title", "code"} <= body.keys()
    if code is not None:
        assert body["code"] == code, body
    return body
