"""Today's live updates, at the HTTP level: the event stream answers text/event-stream to a signed-in
officer only, says ``changed`` when what Today shows differs from what the page was rendered with, and
says ``ended`` once the session is signed out."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from portal_kit import csrf_of, sign_in

pytestmark = pytest.mark.timeout(120)


async def _events(http: httpx.AsyncClient, url: str, wanted: str, *, seconds: float = 20) -> list[str]:
    seen: list[str] = []

    async def read() -> None:
        async with http.stream("GET", url) as answer:
            assert answer.status_code == 200
            assert answer.headers["content-type"].startswith("text/event-stream")
            async for line in answer.aiter_lines():
                if line.startswith("event: "):
                    seen.append(line.removeprefix("event: "))
                    if seen[-1] == wanted:
                        return

    await asyncio.wait_for(read(), timeout=seconds)
    return seen


async def test_the_stream_says_changed_then_ended(portal):
    async with httpx.AsyncClient(timeout=30) as http:
        refused = await http.get(f"{portal.url}/today/events", follow_redirects=False)
        assert refused.status_code == 303
        today = await sign_in(http, portal, portal.officers[0])
        assert await _events(http, f"{portal.url}/today/events?since=stale", "changed") == ["changed"]

        async def sign_out_soon() -> None:
            await asyncio.sleep(1.0)
            async with httpx.AsyncClient(timeout=30, cookies=http.cookies) as other:
                await other.post(f"{portal.url}/auth/logout", data={"csrf_token": csrf_of(today.text)})

        task = asyncio.create_task(sign_out_soon())
        seen = await _events(http, f"{portal.url}/today/events", "ended")
        await task
        assert seen[-1] == "ended"
