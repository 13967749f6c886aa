"""Browser tests: pytest-playwright driving Debian's chromium against the app served by uvicorn
on the test's database (SQLite and PostgreSQL, like every test).

Without chromium they are skipped and say why, unless SUTRACE_REQUIRE_BROWSER=1 (CI), which
makes its absence a failure. Screenshots of each page go to docs/screenshots/.
"""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page

from services.config import Settings
from tests.served import kill, start
from tests.support import ADMIN_KEY
from tests.web.plant import Plant

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
AXE = Path(__file__).resolve().parent / "axe.min.js"  # axe-core 4.14.1 (MPL-2.0), from npm
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        reason = f"no chromium at {CHROMIUM}: apt-get install -y chromium (.ci/run does)"
        if os.environ.get("SUTRACE_REQUIRE_BROWSER") == "1":
            pytest.fail(f"SUTRACE_REQUIRE_BROWSER=1 but {reason}")
        pytest.skip(reason)
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        # --no-sandbox: CI runs as root; the resolver rule keeps every request on this machine.
        "args": ["--no-sandbox", "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": {"width": 1280, "height": 800}}


@pytest.fixture(scope="session", autouse=True)
def _schemas_before_the_browser(request: pytest.FixtureRequest) -> None:
    """Build the migrated templates before Playwright starts: its sync API runs an event loop
    in this thread, and Alembic's async migrations cannot run beside it."""
    request.getfixturevalue("sqlite_template")
    with contextlib.suppress(pytest.skip.Exception):  # each PostgreSQL test says it again
        request.getfixturevalue("pg_template")


@pytest.fixture
def served_env() -> dict[str, str]:
    """Extra settings for the served app (a test module overrides it)."""
    return {}


@pytest.fixture
def web(settings: Settings, served_env: dict[str, str]) -> Iterator[str]:
    """The app served by uvicorn on this test's database (no event loop here: see above)."""
    env = {
        "DATABASE_URL": settings.database_url,
        "BOOTSTRAP_ADMIN_KEY": ADMIN_KEY,
        **served_env,
    }
    process, base = start(env)
    try:
        yield base
    finally:
        kill(process)


@pytest.fixture
def plant(web: str) -> Iterator[Plant]:
    opened = Plant(web)
    yield opened
    opened.close()


def no_serious_violations(page: Page) -> None:
    """axe-core on the page as it is now: no serious or critical accessibility violation."""
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document)")
    serious = [
        (v["id"], v["impact"], v["help"], [n["target"] for n in v["nodes"]][:3])
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
    ]
    assert serious == [], serious


def screenshot(page: Page, name: str, request: pytest.FixtureRequest) -> None:
    """Keep the page as the test left it (once, from the SQLite run); never fails the test."""
    if "sqlite" not in request.node.name:
        return
    try:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"{name}.png"))
    except Exception as exc:  # a screenshot is a by-product, not the test
        print(f"screenshot {name} not saved: {exc}")
