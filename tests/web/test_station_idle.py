"""A station left alone signs its operator out: the server ends the session after the station's
idle time, and the screen goes back to the badge form without anyone touching it, also from the
scan screen, whose live checklist stream does not count as activity."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.support import ADMIN_HEADERS
from tests.web.plant import Plant
from tests.web.test_station_page import badge_in


@pytest.fixture
def served_env() -> dict[str, str]:
    return {"STATION_IDLE_MINUTES": "0.1"}  # six seconds


def open_here(plant: Plant) -> list[dict[str, object]]:
    return [s for s in plant.call("GET", "/sessions", ADMIN_HEADERS)["items"] if s["station"]]


@pytest.mark.req("URS-070")
def test_an_idle_station_returns_to_the_badge_screen(plant: Plant, page: Page) -> None:
    operator = plant.person("operator1", "operator")
    plant.badge(operator, "BADGE-OP-1")
    badge_in(page, plant.base, plant.station_code("LINE-3"))
    expect(page.get_by_role("heading", name="Pick a batch")).to_be_visible()
    expect(page.get_by_role("heading", name="Badge in")).to_be_visible(timeout=20_000)
    assert open_here(plant) == []


@pytest.mark.req("URS-070", "URS-078")
def test_an_idle_scan_screen_returns_to_the_badge_screen_and_its_stream_ends(
    plant: Plant, page: Page
) -> None:
    operator = plant.person("operator1", "operator")
    supervisor = plant.person("supervisor1", "supervisor")
    plant.badge(operator, "BADGE-OP-1")
    plant.batch(supervisor, "B-1", [])
    badge_in(page, plant.base, plant.station_code("LINE-4"))
    page.get_by_role("link", name="B-1").click()
    expect(page.get_by_role("textbox", name="Scan")).to_be_focused()
    expect(page.get_by_role("heading", name="Badge in")).to_be_visible(timeout=20_000)
    assert open_here(plant) == []
    assert page.request.get(f"{plant.base}/station/live?batch=B-1").status == 204
