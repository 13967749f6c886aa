"""Test helpers for people in browsers: desk sign-ins, enrolled stations, badges and PINs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI

from tests.support import ADMIN_HEADERS, Actor

PIN = "482916"


@dataclass
class Browser:
    """A browser of its own (its own cookie jar), and the CSRF token of its sign-in."""

    client: httpx.AsyncClient
    csrf: str = ""

    @property
    def headers(self) -> dict[str, str]:
        """What a page sends on a state-changing request besides its cookies."""
        return {"X-CSRF-Token": self.csrf}


class Browsers:
    """Opens browsers on the app, each with its own cookies; closes them at the end."""

    def __init__(self, app: FastAPI) -> None:
        self.app = app
        self._open: list[httpx.AsyncClient] = []

    def new(self) -> Browser:
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app), base_url="http://test/api/v1"
        )
        self._open.append(client)
        return Browser(client)

    async def signed_in(self, actor: Actor, password: str | None = None) -> Browser:
        """A desk browser signed in as `actor` with their password."""
        browser = self.new()
        r = await browser.client.post(
            "/sessions", json={"username": actor.username, "password": password or actor.password}
        )
        assert r.status_code == 201, r.text
        browser.csrf = r.json()["csrf_token"]
        return browser

    async def station(self, name: str = "LINE-1", kind: str = "line") -> Browser:
        """A browser enrolled as a new station (registered by the admin)."""
        browser = self.new()
        r = await browser.client.post(
            "/stations",
            json={"name": name, "location": f"{name} location", "kind": kind},
            headers=ADMIN_HEADERS,
        )
        assert r.status_code == 201, r.text
        code = r.json()["enrolment"]["code"]
        r = await browser.client.post("/station/enrol", json={"code": code})
        assert r.status_code == 200, r.text
        browser.csrf = r.json()["csrf_token"]
        return browser

    async def close(self) -> None:
        for client in self._open:
            await client.aclose()


async def give_badge(
    client: httpx.AsyncClient, actor: Actor, badge: str, pin: str = PIN
) -> dict[str, Any]:
    """The admin registers `badge` to `actor`, who sets their own PIN; returns the badge."""
    r = await client.post(
        f"/users/{actor.username}/badges", json={"badge": badge}, headers=ADMIN_HEADERS
    )
    assert r.status_code == 201, r.text
    registered: dict[str, Any] = r.json()
    r = await client.post(
        "/me/pin", json={"current_password": actor.password, "pin": pin}, headers=actor.headers
    )
    assert r.status_code == 204, r.text
    return registered


async def badge_in(station: Browser, badge: str, pin: str = PIN) -> httpx.Response:
    """Badge, then PIN, at a station browser."""
    return await station.client.post(
        "/station/sessions", json={"badge": badge, "pin": pin}, headers=station.headers
    )
