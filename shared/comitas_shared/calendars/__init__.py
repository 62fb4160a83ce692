"""Legal calendars and period counting: the one place every service counts a legal period.

    >>> paris = state_calendar("FR", time_zone="Europe/Paris")
    >>> count(date(2025, 7, 11), 10, "working_days", paris).last_day   # 14 July skipped
    datetime.date(2025, 7, 28)

Calendars: :func:`state_calendar` (a State and subdivision, public holidays from the pinned
``holidays`` library, plus an institution's :class:`Closure` days) and :func:`body_calendar`
(international bodies kept as data in ``data/``: ``coe_strasbourg``, ``un_geneva``,
``iachr_washington``). Counting: :func:`count`, :func:`apply_pauses`, :func:`extend`.
See docs/adr/0012-legal-calendars.md.
"""

from .bodies import BodyCalendar, CalendarFileError, Suspension, load_body_calendars
from .calendar import (
    FRIDAY_ONLY,
    FRIDAY_SATURDAY,
    HOLIDAYS_VERSION,
    SATURDAY_SUNDAY,
    SUNDAY_ONLY,
    Calendar,
    Closure,
    Coverage,
    NonWorkingDay,
    NonWorkingKind,
    body_calendar,
    body_keys,
    directory_closures,
    end_of_day_utc,
    state_calendar,
)
from .counting import (
    Cap,
    CountedDeadline,
    Extension,
    ExtensionRefused,
    Move,
    Pause,
    Suspended,
    Unit,
    apply_pauses,
    count,
    extend,
)
from .months import add_months

__all__ = [
    "FRIDAY_ONLY",
    "FRIDAY_SATURDAY",
    "HOLIDAYS_VERSION",
    "SATURDAY_SUNDAY",
    "SUNDAY_ONLY",
    "BodyCalendar",
    "Calendar",
    "CalendarFileError",
    "Cap",
    "Closure",
    "CountedDeadline",
    "Coverage",
    "Extension",
    "ExtensionRefused",
    "Move",
    "NonWorkingDay",
    "NonWorkingKind",
    "Pause",
    "Suspended",
    "Suspension",
    "Unit",
    "add_months",
    "apply_pauses",
    "body_calendar",
    "body_keys",
    "count",
    "end_of_day_utc",
    "extend",
    "load_body_calendars",
    "directory_closures",
    "state_calendar",
]
