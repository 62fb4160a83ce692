"""Acceptance 5: a private iCalendar feed per institution. It parses in a standard iCalendar library and
holds that institution's deadlines only; a wrong or revoked token gets 404; the token is kept only as a
hash and never appears in uvicorn's access log."""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from datetime import UTC, date, datetime, timedelta

import httpx
import icalendar
import uvicorn
from sqlalchemy import select
from test_notifications_deadlines import deadlines, requested, withdrawn

from comitas_shared.calendars import end_of_day_utc
from comitas_shared.db import Database
from comitas_shared.testing import eventually, free_port


async def create_feed(api, label: str | None = "Legal team") -> dict:
    response = await api.post("/v1/calendar-feeds", json={"label": label})
    assert response.status_code == 201, response.text
    return response.json()


def feed_path(feed: dict) -> str:
    return httpx.URL(feed["url"]).path


async def publish_deadlines(env, institution_id: str, n: int, *, case: str) -> list[str]:
    keys = []
    for i in range(n):
        key = f"{case}:{uuid.uuid4()}"
        keys.append(key)
        day = (datetime.now(UTC) + timedelta(days=30 + i)).date()
        await env.publish(requested(institution_id, key, end_of_day_utc(day, "Europe/Paris"), case_ref=case,
                                    title=f"Application {i} ({case})"))
    return keys


async def test_the_feed_holds_the_institutions_deadlines_only_and_parses(env, institution):
    mine = await publish_deadlines(env, institution.id, 2, case="CASE-MINE")
    other_id = env.new_institution()
    await publish_deadlines(env, other_id, 1, case="CASE-OTHER")
    closed = await publish_deadlines(env, institution.id, 1, case="CASE-MET")
    await env.publish(withdrawn(institution.id, closed[0], reason="met"))
    await eventually(lambda: deadlines(institution.api, state="met"), timeout=5)

    feed = await create_feed(institution.api)
    assert feed["url"].startswith("http") and feed["url"].endswith(".ics") and feed["token"] in feed["url"]
    assert feed["webcal_url"].startswith("webcal://") and feed["token"].startswith("cal_")
    async with httpx.AsyncClient(base_url=env.url) as anonymous:  # no bearer token: the URL is the credential
        response = await anonymous.get(feed_path(feed))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/calendar")
    assert response.headers["cache-control"].startswith("private")
    calendar = icalendar.Calendar.from_ical(response.content)
    events = list(calendar.walk("VEVENT"))
    listed = {d["deadline_key"]: d for d in await deadlines(institution.api, state="open")}
    assert set(listed) == set(mine)
    assert {str(e["UID"]) for e in events} == {f"{d['id']}@comitas" for d in listed.values()}
    for event in events:
        deadline = next(d for d in listed.values() if f"{d['id']}@comitas" == str(event["UID"]))
        assert event.decoded("DTSTART") == date.fromisoformat(deadline["last_day"])
        assert "CASE-MINE" in str(event["SUMMARY"]) and "Case: CASE-MINE" in str(event["DESCRIPTION"])
        assert "Rule: ECHR Art 35(1) (confirmed)" in str(event["DESCRIPTION"])
        assert str(event["X-COMITAS-CASE-REF"]) == "CASE-MINE"
    assert "CASE-OTHER" not in response.text and "CASE-MET" not in response.text

    async with env.client(other_id) as other_api:
        theirs = await create_feed(other_api, None)
        async with httpx.AsyncClient(base_url=env.url) as anonymous:
            other_document = (await anonymous.get(feed_path(theirs))).text
    assert "CASE-OTHER" in other_document and "CASE-MINE" not in other_document


async def test_a_wrong_or_revoked_token_gets_404_and_only_a_hash_is_kept(env, institution):
    feed = await create_feed(institution.api)
    listed = (await institution.api.get("/v1/calendar-feeds")).json()["items"]
    assert [f["id"] for f in listed] == [feed["id"]] and "token" not in listed[0] and "url" not in listed[0]
    async with httpx.AsyncClient(base_url=env.url) as anonymous:
        assert (await anonymous.get(feed_path(feed))).status_code == 200
        for wrong in ("cal_" + "A" * 43, feed["token"][:-1] + ("A" if feed["token"][-1] != "A" else "B"), "x"):
            answer = await anonymous.get(f"/v1/calendar-feeds/{wrong}.ics")
            assert answer.status_code == 404 and answer.headers["content-type"].startswith("application/problem+json")
        async with env.client(env.new_institution()) as stranger:
            assert (await stranger.delete(f"/v1/calendar-feeds/{feed['id']}")).status_code == 404
        revoked = await institution.api.delete(f"/v1/calendar-feeds/{feed['id']}")
        assert revoked.status_code == 204
        assert (await anonymous.get(feed_path(feed))).status_code == 404
        assert (await institution.api.delete(f"/v1/calendar-feeds/{feed['id']}")).status_code == 404
    assert (await institution.api.get("/v1/calendar-feeds")).json()["items"] == []
    stored = await _stored_text(env)
    assert feed["id"] in stored and feed["token"] not in stored and feed["token"][4:] not in stored


async def _stored_text(env) -> str:
    """Every calendar-feed and idempotency row, as text: the token must be in none of them."""
    from comitas_notifications.calendar_feed.models import CalendarFeed
    from comitas_notifications.models import tables

    database = Database(env.database_url)
    try:
        async with database.transaction() as session:
            feeds = (await session.execute(select(CalendarFeed))).scalars().all()
            keys = (await session.execute(select(tables.idempotency))).all()
            return repr([f.model_dump() for f in feeds]) + repr(keys)
    finally:
        await database.dispose()


async def test_idempotent_creation_gives_the_same_feed_with_a_fresh_token(env, institution):
    headers = {"Idempotency-Key": str(uuid.uuid4())}
    first = await institution.api.post("/v1/calendar-feeds", json={"label": "x"}, headers=headers)
    again = await institution.api.post("/v1/calendar-feeds", json={"label": "x"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and first.json()["token"] != again.json()["token"]
    async with httpx.AsyncClient(base_url=env.url) as anonymous:
        assert (await anonymous.get(feed_path(first.json()))).status_code == 404  # replaced
        assert (await anonymous.get(feed_path(again.json()))).status_code == 200
    async with env.client(institution.id, scopes=["deadlines:read"]) as reader:
        assert (await reader.post("/v1/calendar-feeds", json={})).status_code == 403


class Captured(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


async def test_the_token_never_appears_in_the_access_log(env, institution):
    """uvicorn's own access log, switched on, in front of the service's app: the filter the service
    installed on ``uvicorn.access`` redacts the token from every line."""
    feed = await create_feed(institution.api)
    captured = Captured()
    access = logging.getLogger("uvicorn.access")
    access.addHandler(captured)
    level = access.level
    access.setLevel(logging.INFO)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(env.app, host="127.0.0.1", port=port, lifespan="off", access_log=True,
                                           log_config=None))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    task = asyncio.create_task(server.serve())
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline and not task.done()
            await asyncio.sleep(0.02)
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as anonymous:
            assert (await anonymous.get(feed_path(feed))).status_code == 200
            assert (await anonymous.get(feed_path(feed) + "?refresh=1")).status_code == 200
            assert (await anonymous.get("/v1/calendar-feeds/cal_wrong_token_000000000000.ics")).status_code == 404
        await eventually(lambda: len(captured.lines) >= 3, timeout=5)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, timeout=10)
        access.removeHandler(captured)
        access.setLevel(level)
    feed_lines = [line for line in captured.lines if "calendar-feeds" in line]
    assert len(feed_lines) == 3
    assert all("/v1/calendar-feeds/[redacted].ics" in line for line in feed_lines), feed_lines
    assert not any(feed["token"] in line or "cal_wrong" in line for line in captured.lines)
