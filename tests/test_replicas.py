"""Two replicas of intake and of notifications on the same databases and NATS: every event leaves
once and every webhook arrives once, whichever replica took the request or the message."""

from __future__ import annotations

import asyncio
import json
from collections import Counter

import httpx

from comitas_shared.testing import ServedApp, eventually

from .test_platform_journey import COMPLAINT, subscribe


async def test_second_replicas_share_the_work_without_doubling_it(stack, webhook_receiver):
    from comitas_intake.main import create_app as create_intake
    from comitas_notifications.main import create_app as create_notifications

    intake_2 = await ServedApp(create_intake(stack.intake.app.state.settings)).start()
    notifications_2 = await ServedApp(create_notifications(stack.notifications.app.state.settings)).start()
    try:
        institution = await stack.new_institution()
        await subscribe(stack, institution, webhook_receiver)
        token = await stack.token(institution, scope="complaints:submit")
        headers = {"Authorization": f"Bearer {token}"}
        ids: list[str] = []
        async with httpx.AsyncClient(headers=headers) as http:
            async def submit(url: str) -> None:
                response = await http.post(f"{url}/v1/complaints", json=COMPLAINT)
                assert response.status_code == 201, response.text
                ids.append(response.json()["id"])

            await asyncio.gather(*(submit(url) for url in [stack.intake.url, intake_2.url] * 10))

        def all_delivered() -> bool:
            return all(webhook_receiver.for_subject(i) for i in ids)

        await eventually(all_delivered, timeout=15)
        await asyncio.sleep(1.0)  # room for a duplicate to show up
        counts = Counter(json.loads(r["body"])["subject"] for r in webhook_receiver.received)
        assert {i: counts[i] for i in ids} == {i: 1 for i in ids}
    finally:
        await notifications_2.stop()
        await intake_2.stop()
