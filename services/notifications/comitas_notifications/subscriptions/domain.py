"""Which event types a subscription may ask for, and which events it receives (types, cases, urgency);
Pure functions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from comitas_shared.events.catalogue import DEADLINE_REMINDER

WILDCARD = "*"


def _is_prefix_pattern(pattern: str) -> bool:
    return pattern.endswith(".*") and pattern != ".*"


def pattern_matches(pattern: str, event_type: str) -> bool:
    """``*`` matches every type; ``comitas.complaint.*`` every type of that context; otherwise exact."""
    if pattern == WILDCARD:
        return True
    if _is_prefix_pattern(pattern):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def matches(patterns: Iterable[str], event_type: str) -> bool:
    return any(pattern_matches(p, event_type) for p in patterns)


def normalise_event_types(requested: Iterable[str], external_types: Iterable[str]) -> tuple[list[str], list[str]]:
    """The patterns to store (deduplicated, in the order given) and those that name no external type.

    A pattern must match at least one type that institutions may receive, so a typo is refused rather
    than stored as a subscription that never fires; internal (security) types cannot be asked for.
    """
    known = set(external_types)
    kept: list[str] = []
    unknown: list[str] = []
    for pattern in requested:
        pattern = pattern.strip()
        if pattern in kept:
            continue
        if any(pattern_matches(pattern, t) for t in known):
            kept.append(pattern)
        else:
            unknown.append(pattern)
    return kept, unknown


# --- channels, filters and delivery modes ----------------------------------------------------------

WEBHOOK = "webhook"
EMAIL = "email"
CHANNELS = (WEBHOOK, EMAIL)

ALL = "all"
URGENT = "urgent"

IMMEDIATE = "immediate"
DAILY_DIGEST = "daily_digest"

# Fields of a payload that name the case an event is about (the CloudEvent subject names it too).
CASE_FIELDS = ("complaint_id", "request_id", "referral_id", "case_ref", "reference", "deadline_key")
# A reminder this many days (or fewer) before the last day is urgent, as is one on the day or after it.
URGENT_REMINDER_DAYS = 3
# Types that call for action at once whatever their payload: a withdrawn consent means the data it
# covered must stop being used now.
URGENT_TYPES = frozenset({"comitas.consent.withdrawn"})


def case_keys(subject: str | None, data: Mapping[str, object]) -> frozenset[str]:
    """Every way the event names its case (the subject, complaint and request ids, the human reference),
    case-folded: what a subscription's ``cases`` are compared with."""
    keys = {subject} if subject else set()
    for name in CASE_FIELDS:
        value = data.get(name)
        if isinstance(value, str) and value:
            keys.add(value)
    return frozenset(k.strip().casefold() for k in keys if k.strip())


def reminder_is_urgent(reminder: str) -> bool:
    """``day``/``due``/``overdue`` and offsets of hours, minutes or seconds are; ``dN`` is when N ≤ 3."""
    if reminder in {"day", "due", "overdue"}:
        return True
    if reminder[:1] in {"h", "m", "s"}:
        return True
    if reminder.startswith("d") and reminder[1:].isdigit():
        return int(reminder[1:]) <= URGENT_REMINDER_DAYS
    return False


def is_urgent(event_type: str, data: Mapping[str, object]) -> bool:
    """An event is urgent when its payload says so (``urgency: urgent``, ``urgent: true``), when it is
    a reminder of a deadline three days away or less, due or overdue, or when its type always is."""
    if data.get("urgency") == URGENT or data.get("urgent") is True:
        return True
    if event_type == DEADLINE_REMINDER.type:
        reminder = data.get("reminder")
        return isinstance(reminder, str) and reminder_is_urgent(reminder)
    return event_type in URGENT_TYPES


@dataclass(frozen=True)
class Interest:
    """What a subscription asks for: event types (patterns), cases (None: every case), urgency."""

    event_types: tuple[str, ...]
    cases: tuple[str, ...] | None = None
    urgency: str = ALL


def wants(interest: Interest, event_type: str, subject: str | None, data: Mapping[str, object]) -> bool:
    if not matches(interest.event_types, event_type):
        return False
    if interest.cases is not None:
        wanted = {c.strip().casefold() for c in interest.cases}
        if not wanted & case_keys(subject, data):
            return False
    return not (interest.urgency == URGENT and not is_urgent(event_type, data))


def normalise_cases(cases: Iterable[str] | None) -> list[str] | None:
    """Stripped, without duplicates (compared case-folded), in the order given; None stays None."""
    if cases is None:
        return None
    kept: list[str] = []
    seen: set[str] = set()
    for case in cases:
        case = case.strip()
        if case and case.casefold() not in seen:
            seen.add(case.casefold())
            kept.append(case)
    return kept
