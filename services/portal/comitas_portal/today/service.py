"""*Today*: what waits for the officer's institution, read from the services' APIs with the officer's
token. A service that does not answer (not deployed, down) leaves its section saying so; the rest of the
page is still shown."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from ..sessions.service import Officer
from ..upstream import Unreachable, Upstream, UpstreamProblem

# MLA requests that wait for the institution: as the requested authority, those it must acknowledge,
# recognise or execute; as the requesting authority, a clarification it was asked for.
MLA_WAITING_AS_REQUESTED = ("issued", "clarified", "acknowledged", "recognised", "in_execution", "postponed")
MLA_WAITING_AS_REQUESTING = ("clarification_requested",)
# Referrals that wait for the institution's answer, as the recipient (the referral service's states).
REFERRAL_WAITING_AS_RECIPIENT = ("sent", "acknowledged")
UPCOMING_DAYS = 14
SENT_SHOWN = 10


@dataclass
class Section:
    """One part of Today: its items, or why there are none to show."""

    items: list[dict[str, Any]] = field(default_factory=list)
    unavailable: bool = False
    error: str | None = None


@dataclass
class Today:
    today: date
    deadlines: Section
    inbox: Section
    mla: Section
    referrals: Section
    sent: Section
    names: dict[str, str] = field(default_factory=dict)

    def fingerprint(self) -> str:
        """What changes when anything shown changes: the live stream sends an update then."""
        shown = [[item.get("id"), item.get("state"), item.get("standing"), item.get("read"), item.get("updated_at")]
                 for section in (self.deadlines, self.inbox, self.mla, self.referrals, self.sent)
                 for item in section.items]
        sections = [s.unavailable for s in (self.deadlines, self.inbox, self.mla, self.referrals, self.sent)]
        return hashlib.sha256(json.dumps([shown, sections], default=str).encode()).hexdigest()[:32]


def local_today(now: datetime, time_zone: str) -> date:
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo("UTC")
    return now.astimezone(zone).date()


async def _section(load: Callable[[], Awaitable[list[dict[str, Any]]]]) -> Section:
    try:
        return Section(items=await load())
    except Unreachable:
        return Section(unavailable=True)
    except UpstreamProblem as problem:
        # 403: the officer's account lacks the scope; 404: the service has no such API (not yet deployed).
        return Section(unavailable=problem.status == 404, error=None if problem.status == 404 else problem.detail)


async def deadlines(upstream: Upstream, officer: Officer, today: date) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for state in ("overdue", "due"):
        page = await upstream.get("notifications", "/v1/deadlines", token=officer.token,
                                  params={"state": state, "limit": 100})
        found += page["items"]
    page = await upstream.get("notifications", "/v1/deadlines", token=officer.token, params={
        "state": "upcoming", "limit": 100, "last_day_to": (today + timedelta(days=UPCOMING_DAYS)).isoformat()})
    found += page["items"]
    for item in found:
        item["days_left"] = (date.fromisoformat(item["last_day"]) - today).days
    return sorted(found, key=lambda item: (item["last_day"], item["id"]))


async def inbox(upstream: Upstream, officer: Officer) -> list[dict[str, Any]]:
    page = await upstream.get("notifications", "/v1/inbox", token=officer.token, params={"read": "false", "limit": 50})
    return list(page["items"])


async def mla_waiting(upstream: Upstream, officer: Officer) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    page = await upstream.get("mla", "/v1/requests", token=officer.token, params={"role": "requested", "limit": 100})
    found += [item for item in page["items"] if item["state"] in MLA_WAITING_AS_REQUESTED]
    page = await upstream.get("mla", "/v1/requests", token=officer.token, params={"role": "requesting", "limit": 100})
    found += [item for item in page["items"] if item["state"] in MLA_WAITING_AS_REQUESTING]
    return found


async def referrals_waiting(upstream: Upstream, officer: Officer) -> list[dict[str, Any]]:
    page = await upstream.get("referral", "/v1/referrals", token=officer.token,
                              params={"side": "recipient", "limit": 100})
    return [item for item in page["items"] if item["state"] in REFERRAL_WAITING_AS_RECIPIENT]


async def referrals_sent(upstream: Upstream, officer: Officer) -> list[dict[str, Any]]:
    """The referrals the institution sent, most recently changed first: where each stands now."""
    page = await upstream.get("referral", "/v1/referrals", token=officer.token, params={"side": "sender", "limit": 100})
    return sorted(page["items"], key=lambda item: item["updated_at"], reverse=True)[:SENT_SHOWN]


async def load(upstream: Upstream, officer: Officer, *, now: datetime) -> Today:
    today = local_today(now, officer.time_zone)
    loaded = await asyncio.gather(
        _section(lambda: deadlines(upstream, officer, today)), _section(lambda: inbox(upstream, officer)),
        _section(lambda: mla_waiting(upstream, officer)), _section(lambda: referrals_waiting(upstream, officer)),
        _section(lambda: referrals_sent(upstream, officer)))
    found = Today(today=today, deadlines=loaded[0], inbox=loaded[1], mla=loaded[2], referrals=loaded[3],
                  sent=loaded[4])
    ids = [r["sender_institution_id"] for r in found.referrals.items] + [
        r["recipient_institution_id"] for r in found.sent.items]
    found.names = await upstream.institution_names(ids, token=officer.token)
    return found
