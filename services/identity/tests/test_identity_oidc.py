"""identity as an OpenID Provider for liaison officers: the code flow yields an ID token that verifies
against the JWKS (issuer, audience = client, nonce), userinfo answers by scope, and RP-initiated
sign-out returns only to a registered URI on the word of an ID token of ours."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import pytest
from identity_testkit import Identity, Registered, pkce, post_sign_in, unverified_claims
from joserfc import jwt
from joserfc.jwk import KeySet
from joserfc.jwt import JWTClaimsRegistry

from comitas_identity import admin

CALLBACK = "http://127.0.0.1:8080/auth/callback"
SIGNED_OUT = "http://127.0.0.1:8080/signed-out"
PASSWORD = "correct horse battery staple"


@dataclass
class Officer:
    id: str
    email: str
    name: str
    institution_id: str
    web: Registered


@pytest.fixture
async def officer(identity: Identity) -> Officer:
    institution_id = await identity.institution(kind="ombudsperson", country="GR")
    email = f"oidc-{uuid.uuid4().hex[:6]}@example.org"
    user_id = await admin.register_user(identity.database, institution_id=institution_id, email=email,
                                        name="Olga Officer", password=PASSWORD,
                                        scopes=["complaints:read", "directory:read"])
    web = await identity.client(institution_id=await identity.institution(), auth_method="none",
                                redirect_uris=[CALLBACK], post_logout_redirect_uris=[SIGNED_OUT],
                                scopes=["complaints:read", "directory:read"])
    return Officer(user_id, email, "Olga Officer", institution_id, web)


def params(client: Registered, challenge: str, **extra: str) -> dict[str, str]:
    return {"response_type": "code", "client_id": client.client_id, "redirect_uri": CALLBACK,
            "scope": "openid profile email complaints:read", "state": "st4te", "code_challenge": challenge,
            "code_challenge_method": "S256", **extra}


async def sign_in_and_exchange(identity: Identity, officer: Officer, **extra: str) -> dict:
    verifier, challenge = pkce()
    response = await post_sign_in(identity.http, identity.url, params(officer.web, challenge, **extra),
                                  officer.email, PASSWORD)
    assert response.status_code == 302, response.text
    code = parse_qs(urlsplit(response.headers["location"]).query)["code"][0]
    token = await identity.http.post(f"{identity.url}/oauth/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier,
        "client_id": officer.web.client_id})
    assert token.status_code == 200, token.text
    return token.json()


async def test_the_code_flow_yields_an_id_token_that_verifies_against_the_jwks(
    identity: Identity, officer: Officer
) -> None:
    nonce = uuid.uuid4().hex
    body = await sign_in_and_exchange(identity, officer, nonce=nonce)

    jwks = (await identity.http.get(f"{identity.url}/.well-known/jwks.json")).json()
    decoded = jwt.decode(body["id_token"], KeySet.import_key_set(jwks), algorithms=["RS256"])
    JWTClaimsRegistry(
        iss={"essential": True, "value": identity.settings.issuer},
        aud={"essential": True, "value": officer.web.client_id},
        sub={"essential": True, "value": officer.id},
        nonce={"essential": True, "value": nonce},
        exp={"essential": True}, iat={"essential": True}, auth_time={"essential": True},
    ).validate(decoded.claims)
    assert decoded.header["kid"] in {key["kid"] for key in jwks["keys"]}
    assert decoded.claims["name"] == officer.name and decoded.claims["email"] == officer.email
    assert "at_hash" in decoded.claims
    # The access token bought with openid also names identity, where userinfo lives.
    assert "urn:comitas:identity" in unverified_claims(body["access_token"])["aud"]

    # The same ID token with another nonce expected, or for another client, does not validate.
    with pytest.raises(Exception, match="nonce"):
        JWTClaimsRegistry(nonce={"essential": True, "value": "other"}).validate(decoded.claims)


async def test_without_openid_there_is_no_id_token(identity: Identity, officer: Officer) -> None:
    body = await sign_in_and_exchange(identity, officer, scope="complaints:read")
    assert "id_token" not in body


async def test_a_nonce_used_before_is_refused(identity: Identity, officer: Officer) -> None:
    nonce = uuid.uuid4().hex
    await sign_in_and_exchange(identity, officer, nonce=nonce)
    _, challenge = pkce()
    replay = await identity.http.get(f"{identity.url}/oauth/authorize",
                                     params=params(officer.web, challenge, nonce=nonce))
    assert replay.status_code == 302
    assert parse_qs(urlsplit(replay.headers["location"]).query)["error"] == ["invalid_request"]


async def test_userinfo_answers_by_scope(identity: Identity, officer: Officer) -> None:
    full = await sign_in_and_exchange(identity, officer)
    info = await identity.http.get(f"{identity.url}/oauth/userinfo",
                                   headers={"Authorization": f"Bearer {full['access_token']}"})
    assert info.status_code == 200, info.text
    assert info.json() == {"sub": officer.id, "name": officer.name, "email": officer.email}

    narrow = await sign_in_and_exchange(identity, officer, scope="openid complaints:read")
    info = await identity.http.post(f"{identity.url}/oauth/userinfo",
                                    headers={"Authorization": f"Bearer {narrow['access_token']}"})
    assert info.json() == {"sub": officer.id}


async def test_userinfo_needs_an_openid_token_of_an_officer(identity: Identity, officer: Officer) -> None:
    system = await identity.client()
    token = await identity.token(system)
    refused = await identity.http.get(f"{identity.url}/oauth/userinfo", headers={"Authorization": f"Bearer {token}"})
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
    anonymous = await identity.http.get(f"{identity.url}/oauth/userinfo")
    assert anonymous.status_code == 401 and anonymous.headers["www-authenticate"].startswith("Bearer")


async def test_sign_out_returns_only_to_a_registered_uri_on_an_id_token_of_ours(
    identity: Identity, officer: Officer
) -> None:
    body = await sign_in_and_exchange(identity, officer)
    logout = f"{identity.url}/oauth/logout"

    back = await identity.http.get(logout, params={"id_token_hint": body["id_token"],
                                                   "post_logout_redirect_uri": SIGNED_OUT, "state": "s1"})
    assert back.status_code == 302
    assert back.headers["location"] == f"{SIGNED_OUT}?state=s1"

    unregistered = await identity.http.get(logout, params={"id_token_hint": body["id_token"],
                                                           "post_logout_redirect_uri": "https://evil.example/x"})
    assert unregistered.status_code == 200 and "location" not in unregistered.headers
    assert "signed out" in unregistered.text

    # Without a hint nothing vouches for the URI: no redirect either.
    no_hint = await identity.http.get(logout, params={"client_id": officer.web.client_id,
                                                      "post_logout_redirect_uri": SIGNED_OUT})
    assert no_hint.status_code == 200 and "location" not in no_hint.headers

    # An access token is signed with the same key but is not an ID token.
    for hint in (body["access_token"], body["id_token"][:-4] + "AAAA"):
        bad = await identity.http.get(logout, params={"id_token_hint": hint, "client_id": officer.web.client_id,
                                                      "post_logout_redirect_uri": SIGNED_OUT})
        assert bad.status_code == 400 and "location" not in bad.headers


async def test_openid_scopes_are_for_web_clients_only(identity: Identity) -> None:
    system = await identity.client()
    response = await identity.token_response(system, scope="openid directory:read")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"
