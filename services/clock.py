"""The server clock and the site's calendar: "today" is the date in SITE_TIMEZONE.

Sign-in sessions expire by the app's `Clock` (`app.state.clock`): the tests move it instead of
sleeping, and every expiry decision reads the same `now`.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from models.base import utcnow


def today_in(zone: ZoneInfo) -> date:
    return utcnow().astimezone(zone).date()


class Clock:
    """The server clock, or a fixed offset from it once a test has moved it."""

    def __init__(self) -> None:
        self.offset = timedelta(0)

    def now(self) -> datetime:
        return utcnow() + self.offset

    def advance(self, by: timedelta) -> None:
        """Move time forward (tests only: the service never moves its own clock)."""
        self.offset += by
