"""Settings: a calendar link and a webhook subscription made through notifications' API from the page (each
secret shown once), notifications' refusal shown as the person's error, and the subscription listed."""

from __future__ import annotations

import httpx
import pytest
from portal_kit import csrf_of, sign_in

pytestmark = pytest.mark.timeout(120)


async def test_calendar_link_and_webhook_subscription(portal):
    async with httpx.AsyncClient(timeout=30) as http:
        page = await sign_in(http, portal, portal.officers[0])
        token = csrf_of(page.text)
        calendar = await http.post(f"{portal.url}/settings/calendar-feeds", data={"csrf_token": token})
        assert calendar.status_code == 201 and 'id="calendar-url"' in calendar.text and ".ics" in calendar.text

        refused = await http.post(f"{portal.url}/settings/subscriptions",
                                  data={"csrf_token": token, "url": "not a url", "event_types": "comitas.referral.*"})
        assert refused.status_code == 422 and 'role="alert"' in refused.text

        subscribed = await http.post(f"{portal.url}/settings/subscriptions", data={
            "csrf_token": token, "url": "https://hooks.example.org/comitas", "event_types": "comitas.referral.*"})
        assert subscribed.status_code == 201, subscribed.text
        assert "whsec_" in subscribed.text
        listed = await http.get(f"{portal.url}/settings")
        assert "https://hooks.example.org/comitas" in listed.text and "whsec_" not in listed.text
