"""Month arithmetic with the clamping legal periods use."""

from __future__ import annotations

import calendar
from datetime import date


def add_months(day: date, months: int) -> date:
    """``day`` plus ``months`` calendar months, clamped to the end of a shorter month.

    The day of the month is kept where it exists (30 Apr + 1 month = 30 May, not 31 May): a period
    ends on the corresponding date, not on "the end of the month" unless the month is too short.
    """
    index = day.year * 12 + (day.month - 1) + months
    year, month0 = divmod(index, 12)
    return date(year, month0 + 1, min(day.day, calendar.monthrange(year, month0 + 1)[1]))
