"""RFC 8707 resource indicators: a token's aud is the services it was requested for."""

from __future__ import annotations

import uuid
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from identity_testkit import Identity, Registered, pkce, post_sign_in, unverified_claims

from comitas_identity import admin
from comitas_identity.oauth.domain import UnknownResource, token_audience

INTAKE, NOTIFICATIONS, MLA = "urn:comitas:intake", "urn:comitas:notifications", "urn:comitas:mla"
CALLBACK = "http://127.0.0.1:8080/auth/callback"
PASSWORD = "correct horse battery staple"


_FORM = "application/x-www-form-urlencoded"


def _form(items: list[tuple[str, str]]) -> str:
    return urlencode(items)


async def client_credentials(identity: Identity, client: Registered, *resources: str) -> httpx.Response:
    items = [("grant_type", "client_credentials"), *(("resource", r) for r in resources)]
    return await identity.http.post(f"{identity.url}/oauth/token", content=_form(items),
                                    headers={"Content-Type": _FORM}, auth=client.basic)


async def test_the_audience_is_the_requested_resources(identity: Identity) -> None:
    client = await identity.client()
    one = await client_credentials(identity, client, INTAKE)
    assert one.status_code == 200, one.text
    assert unverified_claims(one.json()["access_token"])["aud"] == INTAKE

    two = await client_credentials(identity, client, NOTIFICATIONS, INTAKE)
    assert two.status_code == 200, two.text
    assert unverified_claims(two.json()["access_token"])["aud"] == [INTAKE, NOTIFICATIONS]


async def test_an_unknown_resource_is_invalid_target(identity: Identity) -> None:
    client = await identity.client()
    for resource in ("https://elsewhere.example/api", "urn:comitas:unknown"):
        response = await client_credentials(identity, client, resource)
        assert response.status_code == 400
        assert response.json()["error"] == "invalid_target"


async def test_without_resource_the_legacy_audience_where_configured(identity: Identity) -> None:
    assert identity.settings.legacy_audience_issued  # test environment
    client = await identity.client()
    response = await client_credentials(identity, client)
    assert unverified_claims(response.json()["access_token"])["aud"] == "comitas"


def test_without_resource_and_without_legacy_audience_a_target_is_required() -> None:
    known = {INTAKE, NOTIFICATIONS}
    with pytest.raises(UnknownResource, match="resource parameter"):
        token_audience([], granted=None, known=known, legacy=None, own=None)
    assert token_audience([], granted=None, known=known, legacy="comitas", own=None) == ["comitas"]
    # A code that named resources gives them when the exchange names none, and only them when it does.
    assert token_audience([], granted=(INTAKE, NOTIFICATIONS), known=known, legacy=None, own=None) == [
        INTAKE, NOTIFICATIONS]
    assert token_audience([INTAKE], granted=(INTAKE, NOTIFICATIONS), known=known, legacy=None, own=None) == [INTAKE]
    with pytest.raises(UnknownResource, match="not named"):
        token_audience([NOTIFICATIONS], granted=(INTAKE,), known=known, legacy=None, own=None)


async def test_the_code_carries_the_resources_and_the_exchange_may_narrow_them(identity: Identity) -> None:
    institution_id = await identity.institution()
    email = f"res-{uuid.uuid4().hex[:6]}@example.org"
    await admin.register_user(identity.database, institution_id=institution_id, email=email, name="Rui",
                              password=PASSWORD, scopes=["complaints:read"])
    web = await identity.client(auth_method="none", redirect_uris=[CALLBACK], scopes=["complaints:read"])

    async def code(*resources: str) -> tuple[str, str]:
        verifier, challenge = pkce()
        items = [("response_type", "code"), ("client_id", web.client_id), ("redirect_uri", CALLBACK),
                 ("scope", "complaints:read"), ("state", "s"), ("code_challenge", challenge),
                 ("code_challenge_method", "S256"), *(("resource", r) for r in resources)]
        response = await post_sign_in(identity.http, identity.url, items, email, PASSWORD)
        assert response.status_code == 302, response.text
        return parse_qs(urlsplit(response.headers["location"]).query)["code"][0], verifier

    async def exchange(code_value: str, verifier: str, *resources: str):
        items = [("grant_type", "authorization_code"), ("code", code_value), ("redirect_uri", CALLBACK),
                 ("code_verifier", verifier), ("client_id", web.client_id), *(("resource", r) for r in resources)]
        return await identity.http.post(f"{identity.url}/oauth/token", content=_form(items),
                                        headers={"Content-Type": _FORM})

    first = await exchange(*await code(INTAKE, NOTIFICATIONS))
    assert unverified_claims(first.json()["access_token"])["aud"] == [INTAKE, NOTIFICATIONS]
    narrowed = await exchange(*await code(INTAKE, NOTIFICATIONS), INTAKE)
    assert unverified_claims(narrowed.json()["access_token"])["aud"] == INTAKE
    widened = await exchange(*await code(INTAKE), MLA)
    assert widened.status_code == 400 and widened.json()["error"] == "invalid_target"

    # An unknown resource at the authorization endpoint goes back to the client as invalid_target.
    _, challenge = pkce()
    refused = await identity.http.get(f"{identity.url}/oauth/authorize", params={
        "response_type": "code", "client_id": web.client_id, "redirect_uri": CALLBACK, "scope": "complaints:read",
        "state": "s", "code_challenge": challenge, "code_challenge_method": "S256",
        "resource": "https://elsewhere.example"})
    assert refused.status_code == 302
    query = parse_qs(urlsplit(refused.headers["location"]).query)
    assert query["error"] == ["invalid_target"] and query["state"] == ["s"]
