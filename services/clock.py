"""The server clock and the site's calendar: "today" is the date in SITE_TIMEZONE."""

from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from models.base import utcnow


def today_in(zone: ZoneInfo) -> date:
    return utcnow().astimezone(zone).date()
