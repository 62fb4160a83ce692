"""*Settings*: the institution's webhook subscriptions, calendar feeds and NATS feed, read and changed
through notifications' API with the officer's token; the officer's language is the portal's own."""

from __future__ import annotations

import asyncio
from typing import Any

from ..sessions.service import Officer
from ..upstream import Upstream, optional, section


async def overview(upstream: Upstream, officer: Officer) -> dict[str, Any]:
    subscriptions, feeds, reminders, nats_feed = await asyncio.gather(
        section(upstream.get("notifications", "/v1/subscriptions", token=officer.token, params={"limit": 100})),
        section(upstream.get("notifications", "/v1/calendar-feeds", token=officer.token)),
        section(upstream.get("notifications", "/v1/reminder-settings", token=officer.token)),
        optional(upstream.get("notifications", "/v1/feeds", token=officer.token), None))
    return {"subscriptions": subscriptions, "calendar_feeds": feeds, "reminders": reminders, "feed": nats_feed}


def subscription_body(form: dict[str, str]) -> dict[str, Any]:
    types = [t.strip() for t in form.get("event_types", "").replace("\n", ",").split(",") if t.strip()]
    return {"channel": "webhook", "url": form.get("url", "").strip(), "event_types": types}


async def subscribe(upstream: Upstream, officer: Officer, form: dict[str, str]) -> dict[str, Any]:
    created: dict[str, Any] = await upstream.post("notifications", "/v1/subscriptions", token=officer.token,
                                                  json=subscription_body(form))
    return created


async def feed_credentials(upstream: Upstream, officer: Officer) -> dict[str, Any]:
    created: dict[str, Any] = await upstream.post("notifications", "/v1/feeds/credentials", token=officer.token,
                                                  json={"name": "portal"})
    return created


async def create_calendar_feed(upstream: Upstream, officer: Officer) -> dict[str, Any]:
    created: dict[str, Any] = await upstream.post("notifications", "/v1/calendar-feeds", token=officer.token, json={})
    return created
