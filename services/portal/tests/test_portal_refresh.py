"""The session's token is refreshed (ADR 0071): an officer whose access token has expired keeps working
without signing in again; requests, the live stream and another replica racing for one session refresh
it once (identity would take a second presentation of the same refresh token for a theft and end the
session); sign-out revokes the refresh token with the access token."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from portal_kit import csrf_of, expire_token, identity_form, session_row, sign_in

from comitas_portal.sessions import service as sessions
from comitas_shared.clock import real_now
from comitas_shared.db import Database
from comitas_shared.testing import eventually

pytestmark = pytest.mark.timeout(180)
COOKIE = "comitas_portal_session"


async def active_at_identity(http: httpx.AsyncClient, portal, token: str) -> bool:
    answer = await identity_form(http, portal, "/oauth/introspect", token=token)
    assert answer.status_code == 200, answer.text
    return bool(answer.json()["active"])


async def test_an_officer_whose_token_expired_keeps_working_without_signing_in(portal):
    officer = portal.officers[0]
    async with httpx.AsyncClient(timeout=20) as http:
        await sign_in(http, portal, officer)
        cookie = http.cookies.get(COOKIE)
        before, old = await session_row(portal, cookie)
        assert old["refresh_token"]
        await expire_token(portal, cookie)

        page = await http.get(f"{portal.url}/cases?q=FR", follow_redirects=False)
        assert page.status_code == 200, page.headers.get("location")
        after, new = await session_row(portal, cookie)
        assert after.token_jti != before.token_jti and after.token_expires_at > real_now()
        assert new["access_token"] != old["access_token"] and new["refresh_token"] != old["refresh_token"]
        assert new["id_token"] == old["id_token"] and after.refresh_claimed_until is None
        # The new token works at the services; the retired refresh token no longer does anything.
        listed = await http.get(f"{portal.stack.intake.url}/v1/complaints",
                                headers={"Authorization": f"Bearer {new['access_token']}"})
        assert listed.status_code == 200
        assert not await active_at_identity(http, portal, old["refresh_token"])
        assert await active_at_identity(http, portal, new["refresh_token"])
        # Same session, same cookie, same form token.
        assert http.cookies.get(COOKIE) == cookie and after.csrf_token == before.csrf_token


async def test_requests_and_another_replica_racing_refresh_once(portal):
    """Five requests at once in this process, then two refreshers with locks of their own (two replicas of
    the portal) on one session: each time one refresh reaches identity, and the family lives on."""
    officer = portal.officers[1]
    async with httpx.AsyncClient(timeout=30) as http:
        await sign_in(http, portal, officer)
        cookie = http.cookies.get(COOKIE)
        start, first = await session_row(portal, cookie)
        await expire_token(portal, cookie)
        pages = await asyncio.gather(*(http.get(f"{portal.url}/cases", follow_redirects=False) for _ in range(5)))
        assert [p.status_code for p in pages] == [200] * 5
        middle, second = await session_row(portal, cookie)
        assert middle.token_jti != start.token_jti
        assert await active_at_identity(http, portal, second["refresh_token"])

        await expire_token(portal, cookie)
        app = portal.served.app
        database = Database(portal.database_url)
        try:
            async with database.transaction() as session:
                seen = await sessions.current(session, app.state.sealer, cookie=cookie, now=real_now())
            assert seen is not None and not seen.token_usable
            replicas = [sessions.Refresher(portal.settings, app.state.sealer, http, database, real_now)
                        for _ in range(2)]
            refreshed = await asyncio.gather(*(replica.refresh(seen) for replica in replicas))
        finally:
            await database.dispose()
        assert all(r is not None and r.token_usable for r in refreshed)
        assert refreshed[0].token == refreshed[1].token != seen.token
        end, third = await session_row(portal, cookie)
        assert end.token_jti == refreshed[0].token_jti and end.refresh_claimed_until is None
        # Had the loser presented the same refresh token, identity would have ended the family.
        assert await active_at_identity(http, portal, third["refresh_token"])
        assert (await http.get(f"{portal.url}/cases", follow_redirects=False)).status_code == 200


async def test_the_live_stream_refreshes_and_lives_on(portal):
    officer = portal.officers[2]
    async with httpx.AsyncClient(timeout=30) as http:
        today = await sign_in(http, portal, officer)
        cookie = http.cookies.get(COOKIE)
        before, _ = await session_row(portal, cookie)
        seen: list[str] = []

        async def follow() -> None:
            async with http.stream("GET", f"{portal.url}/today/events") as answer:
                assert answer.status_code == 200
                async for line in answer.aiter_lines():
                    if line.startswith("event: "):
                        seen.append(line.removeprefix("event: "))
                        if seen[-1] == "ended":
                            return

        stream = asyncio.create_task(follow())
        try:
            await expire_token(portal, cookie)

            async def refreshed() -> bool:
                return (await session_row(portal, cookie))[0].token_jti != before.token_jti
            # Only the stream is polling: it refreshed the token, and did not end.
            await eventually(refreshed, timeout=30)
            assert "ended" not in seen and not stream.done()
            signed_out = await http.post(f"{portal.url}/auth/logout", data={"csrf_token": csrf_of(today.text)},
                                         follow_redirects=False)
            assert signed_out.status_code == 303
            await asyncio.wait_for(stream, timeout=30)
        finally:
            stream.cancel()
        assert seen[-1] == "ended"


async def test_sign_out_revokes_the_refresh_token_and_its_family(portal):
    officer = portal.officers[3]
    async with httpx.AsyncClient(timeout=20) as http:
        today = await sign_in(http, portal, officer)
        cookie = http.cookies.get(COOKIE)
        await expire_token(portal, cookie)
        assert (await http.get(f"{portal.url}/cases")).status_code == 200  # refreshed once
        _, tokens = await session_row(portal, cookie)
        assert await active_at_identity(http, portal, tokens["refresh_token"])
        signed_out = await http.post(f"{portal.url}/auth/logout", data={"csrf_token": csrf_of(today.text)},
                                     follow_redirects=False)
        assert signed_out.status_code == 303
        assert not await active_at_identity(http, portal, tokens["refresh_token"])
        assert not await active_at_identity(http, portal, tokens["access_token"])
        refused = await http.post(f"{portal.stack.identity.url}/oauth/token", data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            auth=(portal.settings.identity_client_id, portal.settings.identity_client_secret.get_secret_value()))
        assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_a_token_is_refreshed_before_it_stops_being_usable():
    from datetime import timedelta

    from comitas_portal.sessions import domain

    now = real_now()
    ahead = timedelta(seconds=60)
    assert not domain.token_needs_refresh(token_expires_at=now + timedelta(minutes=5), now=now, ahead=ahead)
    # Within the minute before expiry: refreshed while still usable (usable until 15 s before).
    soon = now + timedelta(seconds=30)
    assert domain.token_needs_refresh(token_expires_at=soon, now=now, ahead=ahead)
    assert domain.token_usable(token_expires_at=soon, now=now)
    assert domain.token_needs_refresh(token_expires_at=now, now=now, ahead=ahead)
    assert not domain.token_usable(token_expires_at=now, now=now)
