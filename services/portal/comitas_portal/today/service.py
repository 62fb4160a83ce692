"""*Today*: what waits for the officer's institution, read from the services' APIs with the officer's
token. A service that does not answer (not deployed, down) leaves its section saying so; the rest of the
page is still shown."""

from __future__ import annotations

import asyncio
import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from ..sessions.service import Officer
from ..upstream import Section, Upstream, section
from ..web import zone_of

# MLA requests that wait for the institution: as the requested authority, those it must acknowledge,
# recognise or execute; as the requesting authority, a clarification it was asked for.
MLA_WAITING_AS_REQUESTED = ("issued", "clarified", "acknowledged", "recognised", "in_execution", "postponed")
MLA_WAITING_AS_REQUESTING = ("clarification_requested",)
# Referrals that wait for the institution's answer, as the recipient (the referral service's states).
REFERRAL_WAITING_AS_RECIPIENT = ("sent", "acknowledged")
UPCOMING_DAYS = 14
SENT_SHOWN = 10


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
    return now.astimezone(zone_of(time_zone)).date()


async def deadlines(upstream: Upstream, officer: Officer, today: date) -> list[dict[str, Any]]:
    pages = await asyncio.gather(*(
        upstream.get("notifications", "/v1/deadlines", token=officer.token, params=params) for params in (
            {"state": "overdue", "limit": 100}, {"state": "due", "limit": 100},
            {"state": "upcoming", "limit": 100,
             "last_day_to": (today + timedelta(days=UPCOMING_DAYS)).isoformat()})))
    found = [item for page in pages for item in page["items"]]
    for item in found:
        item["days_left"] = (date.fromisoformat(item["last_day"]) - today).days
    return sorted(found, key=lambda item: (item["last_day"], item["id"]))


async def inbox(upstream: Upstream, officer: Officer) -> list[dict[str, Any]]:
    page = await upstream.get("notifications", "/v1/inbox", token=officer.token, params={"read": "false", "limit": 50})
    return list(page["items"])


async def mla_waiting(upstream: Upstream, officer: Officer) -> list[dict[str, Any]]:
    requested, requesting = await asyncio.gather(
        upstream.get("mla", "/v1/requests", token=officer.token, params={"role": "requested", "limit": 100}),
        upstream.get("mla", "/v1/requests", token=officer.token, params={"role": "requesting", "limit": 100}))
    return ([item for item in requested["items"] if item["state"] in MLA_WAITING_AS_REQUESTED]
            + [item for item in requesting["items"] if item["state"] in MLA_WAITING_AS_REQUESTING])


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
        section(deadlines(upstream, officer, today)), section(inbox(upstream, officer)),
        section(mla_waiting(upstream, officer)), section(referrals_waiting(upstream, officer)),
        section(referrals_sent(upstream, officer)))
    found = Today(today=today, deadlines=loaded[0], inbox=loaded[1], mla=loaded[2], referrals=loaded[3],
                  sent=loaded[4])
    ids = [r["sender_institution_id"] for r in found.referrals.items] + [
        r["recipient_institution_id"] for r in found.sent.items]
    found.names = await upstream.institution_names(ids, token=officer.token)
    return found
