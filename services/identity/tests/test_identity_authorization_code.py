"""Liaison officers sign in through the authorization-code flow with PKCE (S256)."""

from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from identity_testkit import Identity, Registered, post_sign_in, unverified_claims

from comitas_identity import admin

CALLBACK = "http://127.0.0.1:8080/auth/callback"
PASSWORD = "correct horse battery staple"


def pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    return verifier, challenge


@dataclass
class Setting:
    officer_id: str
    email: str
    institution_id: str
    public: Registered
    confidential: Registered


@pytest.fixture
async def setting(identity: Identity) -> Setting:
    institution_id = await identity.institution(kind="ombudsperson", country="GR")
    # The web client belongs to the platform's own institution; officers come from any institution.
    platform = await identity.institution()
    email = f"officer-{uuid.uuid4().hex[:6]}@example.org"
    officer_id = await admin.register_user(
        identity.database,
        institution_id=institution_id,
        email=email,
        name="Olga Officer",
        password=PASSWORD,
        scopes=["complaints:read", "referrals:read", "directory:read"],
    )
    public = await identity.client(
        institution_id=platform,
        auth_method="none",
        redirect_uris=[CALLBACK],
        scopes=["complaints:read", "complaints:manage", "directory:read"],
    )
    confidential = await identity.client(
        institution_id=platform, redirect_uris=[CALLBACK], scopes=["complaints:read", "directory:read"]
    )
    return Setting(officer_id, email, institution_id, public, confidential)


def authorize_params(client: Registered, challenge: str, **extra: str) -> dict[str, str]:
    return {
        "response_type": "code",
        "client_id": client.client_id,
        "redirect_uri": CALLBACK,
        "scope": "complaints:read complaints:manage directory:read mla:read",
        "state": "st4te",
        "code_challenge": challenge,
        "code_challenge_method": "S256",
        **extra,
    }


async def sign_in(
    identity: Identity, params: dict[str, str], email: str, password: str = PASSWORD
) -> httpx.Response:
    return await post_sign_in(identity.http, identity.url, params, email, password)


def code_of(response: httpx.Response) -> str:
    assert response.status_code == 302, response.text
    location = response.headers["location"]
    assert location.startswith(CALLBACK + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["state"] == ["st4te"]
    return query["code"][0]


async def exchange(identity: Identity, client: Registered, code: str, verifier: str) -> httpx.Response:
    data = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": CALLBACK,
        "code_verifier": verifier,
    }
    if client.client_secret:
        return await identity.http.post(f"{identity.url}/oauth/token", data=data, auth=client.basic)
    return await identity.http.post(
        f"{identity.url}/oauth/token", data={**data, "client_id": client.client_id}
    )


async def test_the_sign_in_page(identity: Identity, setting: Setting) -> None:
    _, challenge = pkce()
    response = await identity.http.get(
        f"{identity.url}/oauth/authorize", params=authorize_params(setting.public, challenge)
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert response.headers["cache-control"] == "no-store"
    page = response.text
    assert 'type="password"' in page
    assert f'value="{challenge}"' in page and 'value="st4te"' in page
    # The requested scopes the client holds are listed; mla:read (not the client's) is not offered.
    assert "<code>complaints:manage</code>" in page and "<code>mla:read</code>" not in page


async def test_public_client_happy_path(identity: Identity, setting: Setting) -> None:
    verifier, challenge = pkce()
    code = code_of(
        await sign_in(identity, authorize_params(setting.public, challenge), setting.email.upper())
    )

    response = await exchange(identity, setting.public, code, verifier)
    assert response.status_code == 200, response.text
    body = response.json()
    assert "refresh_token" not in body
    claims = unverified_claims(body["access_token"])
    assert claims["sub"] == setting.officer_id
    assert claims["client_id"] == setting.public.client_id
    assert claims["institution_id"] == setting.institution_id
    # requested ∩ the officer's ∩ the client's
    assert claims["scope"] == "complaints:read directory:read"

    # The token works at a resource server (this service's own directory).
    directory = await identity.http.get(
        f"{identity.url}/v1/institutions/{setting.institution_id}",
        headers={"Authorization": f"Bearer {body['access_token']}"},
    )
    assert directory.status_code == 200


async def test_confidential_client_authenticates_at_the_exchange(
    identity: Identity, setting: Setting
) -> None:
    verifier, challenge = pkce()
    code = code_of(await sign_in(identity, authorize_params(setting.confidential, challenge), setting.email))
    without_secret = await identity.http.post(
        f"{identity.url}/oauth/token",
        data={
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": CALLBACK,
            "code_verifier": verifier,
            "client_id": setting.confidential.client_id,
        },
    )
    assert without_secret.status_code == 401
    assert without_secret.json()["error"] == "invalid_client"
    response = await exchange(identity, setting.confidential, code, verifier)
    assert response.status_code == 200, response.text
    token = response.json()["access_token"]
    assert unverified_claims(token)["sub"] == setting.officer_id
    # The web client is of another institution than the officer, yet may introspect what it was given.
    assert (await identity.introspect(setting.confidential, token))["active"] is True


async def test_a_wrong_verifier_is_invalid_grant(identity: Identity, setting: Setting) -> None:
    _, challenge = pkce()
    code = code_of(await sign_in(identity, authorize_params(setting.public, challenge), setting.email))
    response = await exchange(identity, setting.public, code, pkce()[0])
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_a_code_used_twice_fails_and_revokes_the_first_token(
    identity: Identity, setting: Setting
) -> None:
    verifier, challenge = pkce()
    code = code_of(await sign_in(identity, authorize_params(setting.public, challenge), setting.email))
    first = await exchange(identity, setting.public, code, verifier)
    assert first.status_code == 200
    token = first.json()["access_token"]
    observer = await identity.client(institution_id=setting.institution_id)
    assert (await identity.introspect(observer, token))["active"] is True

    second = await exchange(identity, setting.public, code, verifier)
    assert second.status_code == 400
    assert second.json()["error"] == "invalid_grant"
    assert await identity.introspect(observer, token) == {"active": False}


async def test_a_code_is_bound_to_its_client(identity: Identity, setting: Setting) -> None:
    verifier, challenge = pkce()
    code = code_of(await sign_in(identity, authorize_params(setting.public, challenge), setting.email))
    response = await exchange(identity, setting.confidential, code, verifier)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


async def test_wrong_password_shows_the_page_again_without_a_code(
    identity: Identity, setting: Setting
) -> None:
    _, challenge = pkce()
    for email, password in ((setting.email, "wrong password!!"), ("nobody@example.org", PASSWORD)):
        response = await sign_in(identity, authorize_params(setting.public, challenge), email, password)
        assert response.status_code == 200
        assert "location" not in response.headers
        assert "wrong" in response.text
        assert password not in response.text


async def test_an_unregistered_redirect_uri_is_never_redirected_to(
    identity: Identity, setting: Setting
) -> None:
    _, challenge = pkce()
    params = authorize_params(setting.public, challenge, redirect_uri="https://attacker.example.net/cb")
    for response in (
        await identity.http.get(f"{identity.url}/oauth/authorize", params=params),
        await sign_in(identity, params, setting.email),
    ):
        assert response.status_code == 400
        assert "location" not in response.headers
        assert response.headers["content-type"].startswith("text/html")
    unknown = await identity.http.get(
        f"{identity.url}/oauth/authorize",
        params={**params, "client_id": "cli_unknown", "redirect_uri": CALLBACK},
    )
    assert unknown.status_code == 400 and "location" not in unknown.headers


@pytest.mark.parametrize(
    "change", [{"code_challenge": ""}, {"code_challenge_method": "plain"}, {"code_challenge_method": ""}]
)
async def test_pkce_with_s256_is_required(
    identity: Identity, setting: Setting, change: dict[str, str]
) -> None:
    _, challenge = pkce()
    params = {k: v for k, v in {**authorize_params(setting.public, challenge), **change}.items() if v}
    response = await identity.http.get(f"{identity.url}/oauth/authorize", params=params)
    assert response.status_code == 302
    query = parse_qs(urlsplit(response.headers["location"]).query)
    assert query["error"] == ["invalid_request"]
    assert query["state"] == ["st4te"]


async def test_no_common_scope_is_access_denied(identity: Identity, setting: Setting) -> None:
    _, challenge = pkce()
    params = authorize_params(setting.public, challenge, scope="complaints:manage")  # the officer lacks it
    response = await sign_in(identity, params, setting.email)
    assert response.status_code == 302
    assert parse_qs(urlsplit(response.headers["location"]).query)["error"] == ["access_denied"]
