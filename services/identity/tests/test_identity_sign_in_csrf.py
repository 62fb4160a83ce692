"""The sign-in form carries a CSRF token bound to the browser (a cookie) and to the authorization
request it continues; a POST without it, or with one that does not fit, is refused with a clear page."""

from __future__ import annotations

import uuid
from urllib.parse import urlencode

import httpx
import pytest
from identity_testkit import Identity, Registered, csrf_token_of, pkce

from comitas_identity import admin

CALLBACK = "http://127.0.0.1:8080/auth/callback"
PASSWORD = "correct horse battery staple"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def web(identity: Identity) -> tuple[Registered, str]:
    institution_id = await identity.institution()
    email = f"csrf-{uuid.uuid4().hex[:6]}@example.org"
    await admin.register_user(identity.database, institution_id=institution_id, email=email, name="Cid",
                              password=PASSWORD, scopes=["complaints:read", "directory:read"])
    client = await identity.client(auth_method="none", redirect_uris=[CALLBACK],
                                   scopes=["complaints:read", "directory:read"])
    return client, email


def request_of(client: Registered, **extra: str) -> dict[str, str]:
    _, challenge = pkce()
    return {"response_type": "code", "client_id": client.client_id, "redirect_uri": CALLBACK,
            "scope": "complaints:read", "state": "s", "code_challenge": challenge, "code_challenge_method": "S256",
            **extra}


async def post(browser: httpx.AsyncClient, identity: Identity, fields: dict[str, str]) -> httpx.Response:
    return await browser.post(f"{identity.url}/oauth/authorize", content=urlencode(fields), headers=FORM)


async def test_the_form_needs_its_token_from_the_same_browser(identity: Identity, web: tuple[Registered, str]) -> None:
    client, email = web
    params = request_of(client)
    async with httpx.AsyncClient(timeout=10) as browser, httpx.AsyncClient(timeout=10) as other_browser:
        page = await browser.get(f"{identity.url}/oauth/authorize", params=params)
        token = csrf_token_of(page)
        assert token
        cookie = page.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/oauth/authorize" in cookie

        credentials = {"email": email, "password": PASSWORD}
        missing = await post(browser, identity, {**params, **credentials})
        assert missing.status_code == 403
        assert "location" not in missing.headers
        assert "start signing in again" in missing.text

        wrong = await post(browser, identity, {**params, **credentials, "csrf_token": token[:-2] + "xx"})
        assert wrong.status_code == 403

        # The same token from a browser that did not get the page (a forged cross-site POST).
        await other_browser.get(f"{identity.url}/oauth/authorize", params=request_of(client))
        forged = await post(other_browser, identity, {**params, **credentials, "csrf_token": token})
        assert forged.status_code == 403

        # The token binds the request: it does not carry over to wider scopes.
        widened = await post(browser, identity, {**params, "scope": "complaints:read directory:read",
                                                 **credentials, "csrf_token": token})
        assert widened.status_code == 403

        accepted = await post(browser, identity, {**params, **credentials, "csrf_token": token})
        assert accepted.status_code == 302, accepted.text
        assert accepted.headers["location"].startswith(CALLBACK + "?code=")
