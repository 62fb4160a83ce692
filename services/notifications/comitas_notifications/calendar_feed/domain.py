"""An institution's deadlines as an iCalendar document (RFC 5545, built with the ``icalendar``
library), and the feed's secret token. Pure functions."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from icalendar import Calendar, Event

TOKEN_PREFIX = "cal_"
PRODID = "-//Comitas//Deadlines//EN"


def token_hash(token: str) -> str:
    """What is stored of a feed's token: its SHA-256 (the token itself carries 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


def looks_like_token(token: str) -> bool:
    return token.startswith(TOKEN_PREFIX) and 20 <= len(token) <= 100


@dataclass(frozen=True)
class FeedEntry:
    """One deadline as the calendar shows it: an all-day event on its last day."""

    deadline_id: str
    title: str
    case_ref: str
    kind: str
    mechanism: str | None
    hard: bool
    last_day: date
    time_zone: str
    due_at: datetime
    calendar: str
    rule: Mapping[str, Any]
    standing: str
    explanation: Sequence[str]
    updated_at: datetime


def rule_text(rule: Mapping[str, Any]) -> str:
    """The rule and its source in one line: ``provision (source; status)``, or its fields as given."""
    provision = rule.get("provision") or rule.get("article") or rule.get("rule")
    details = [str(rule[k]) for k in ("source", "status") if rule.get(k)]
    if provision:
        return f"{provision}" + (f" ({'; '.join(details)})" if details else "")
    return "; ".join(f"{k}: {v}" for k, v in sorted(rule.items()) if isinstance(v, str | int | float)) or "not given"


def calendar_document(entries: Sequence[FeedEntry], *, name: str, now: datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", name)
    calendar.add("x-published-ttl", "PT1H")
    for entry in entries:
        event = Event()
        event.add("uid", f"{entry.deadline_id}@comitas")
        event.add("dtstamp", now.astimezone(UTC))
        event.add("last-modified", entry.updated_at.astimezone(UTC))
        # An all-day event on the last day (one day long, RFC 5545 §3.6.1: no DTEND needed).
        event.add("dtstart", entry.last_day)
        event.add("summary", f"{entry.title} [{entry.case_ref}]")
        event.add("description", "\n".join([
            f"Case: {entry.case_ref}",
            f"Kind: {entry.kind}" + (f" ({entry.mechanism})" if entry.mechanism else ""),
            f"Rule: {rule_text(entry.rule)}",
            f"Last day: {entry.last_day.isoformat()} ({entry.time_zone}), ends {entry.due_at.astimezone(UTC).isoformat()}",
            f"Counted in: {entry.calendar}",
            f"Standing: {entry.standing}" + ("" if entry.hard else " (not a hard limit)"),
            *entry.explanation,
        ]))
        event.add("categories", [entry.kind])
        event.add("status", "CONFIRMED")
        event.add("transp", "TRANSPARENT")
        event.add("x-comitas-case-ref", entry.case_ref)
        event.add("x-comitas-rule", rule_text(entry.rule))
        event.add("x-comitas-due-at", entry.due_at.astimezone(UTC).isoformat())
        calendar.add_component(event)
    document: bytes = calendar.to_ical()
    return document
