"""Refresh tokens (ADR 0071): issued with the authorization code to confidential web clients only, stored
by hash, rotated at each use; a retired one presented again revokes its family; revocable (RFC 7009),
introspected (RFC 7662), refused once the officer may no longer sign in."""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from identity_testkit import Identity, Registered, pkce, post_sign_in, unverified_claims
from sqlalchemy import func, select, update

from comitas_identity import admin
from comitas_identity.oauth import service as oauth
from comitas_identity.oauth.domain import hash_refresh_token
from comitas_identity.oauth.models import OAuthClient, RefreshToken
from comitas_identity.users.models import UserAccount
from comitas_shared.clock import real_now

CALLBACK = "http://127.0.0.1:8080/auth/callback"
PASSWORD = "correct horse battery staple"
OFFICER_SCOPES = ["complaints:read", "referrals:read", "directory:read"]
INTAKE = "urn:comitas:intake"


@dataclass
class Officer:
    id: str
    email: str
    institution_id: str


@dataclass
class Setting:
    officer: Officer
    web: Registered


async def new_officer(identity: Identity) -> Officer:
    institution_id = await identity.institution(kind="ombudsperson")
    email = f"officer-{uuid.uuid4().hex[:8]}@example.org"
    officer_id = await admin.register_user(identity.database, institution_id=institution_id, email=email,
                                           name="Rhea Refresh", password=PASSWORD, scopes=OFFICER_SCOPES)
    return Officer(officer_id, email, institution_id)


@pytest.fixture
async def setting(identity: Identity) -> Setting:
    officer = await new_officer(identity)
    web = await identity.client(institution_id=await identity.institution(), redirect_uris=[CALLBACK],
                                scopes=["complaints:read", "directory:read", "referrals:read"])
    return Setting(officer, web)


async def signed_in(identity: Identity, client: Registered, officer: Officer,
                    scope: str = "openid complaints:read directory:read") -> dict:
    """The officer signs in through ``client``; the token response of the code exchange."""
    verifier, challenge = pkce()
    params = [("response_type", "code"), ("client_id", client.client_id), ("redirect_uri", CALLBACK),
              ("scope", scope), ("state", "s"), ("code_challenge", challenge), ("code_challenge_method", "S256"),
              ("resource", INTAKE)]
    answer = await post_sign_in(identity.http, identity.url, params, officer.email, PASSWORD)
    assert answer.status_code == 302, answer.text
    code = parse_qs(urlsplit(answer.headers["location"]).query)["code"][0]
    data = {"grant_type": "authorization_code", "code": code, "redirect_uri": CALLBACK, "code_verifier": verifier}
    if client.client_secret:
        response = await identity.http.post(f"{identity.url}/oauth/token", data=data, auth=client.basic)
    else:
        response = await identity.http.post(f"{identity.url}/oauth/token", data={**data, "client_id": client.client_id})
    assert response.status_code == 200, response.text
    return response.json()


async def refresh(identity: Identity, client: Registered, refresh_token: str, **extra: str) -> httpx.Response:
    return await identity.http.post(f"{identity.url}/oauth/token", auth=client.basic,
                                    data={"grant_type": "refresh_token", "refresh_token": refresh_token, **extra})


async def userinfo(identity: Identity, access_token: str) -> int:
    answer = await identity.http.get(f"{identity.url}/oauth/userinfo",
                                     headers={"Authorization": f"Bearer {access_token}"})
    return answer.status_code


async def test_a_refresh_gives_a_working_access_token_and_a_new_refresh_token(
        identity: Identity, setting: Setting) -> None:
    first = await signed_in(identity, setting.web, setting.officer)
    assert first["refresh_token"] and "." not in first["refresh_token"]  # opaque, not a JWT
    answer = await refresh(identity, setting.web, first["refresh_token"])
    assert answer.status_code == 200, answer.text
    assert answer.headers["cache-control"] == "no-store"
    second = answer.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"] and "id_token" not in second
    assert await userinfo(identity, second["access_token"]) == 200
    before, after = unverified_claims(first["access_token"]), unverified_claims(second["access_token"])
    for claim in ("sub", "institution_id", "client_id", "scope", "aud", "institution_kind"):
        assert after[claim] == before[claim], claim
    assert after["jti"] != before["jti"]
    # Stored by hash, never the token; with its family, officer, institution, scope and both expiries.
    async with identity.database.transaction() as session:
        rows = (await session.execute(select(RefreshToken).where(
            RefreshToken.user_id == setting.officer.id))).scalars().all()
    assert {r.token_hash for r in rows} == {hash_refresh_token(first["refresh_token"]),
                                            hash_refresh_token(second["refresh_token"])}
    assert len({r.family_id for r in rows}) == 1
    assert all(r.institution_id == setting.officer.institution_id and r.client_id == setting.web.client_id
               for r in rows)
    old = next(r for r in rows if r.token_hash == hash_refresh_token(first["refresh_token"]))
    assert old.used_at is not None and old.revoked_at is None
    settings = identity.settings
    assert old.family_expires_at - old.issued_at == timedelta(seconds=settings.refresh_token_family_max_seconds)
    assert old.expires_at - old.issued_at == timedelta(seconds=settings.refresh_token_lifetime_seconds)


async def test_the_scope_may_narrow_never_widen(identity: Identity, setting: Setting) -> None:
    first = await signed_in(identity, setting.web, setting.officer)
    wider = await refresh(identity, setting.web, first["refresh_token"], scope="complaints:read referrals:read")
    assert wider.status_code == 400 and wider.json()["error"] == "invalid_scope"
    narrow = await refresh(identity, setting.web, first["refresh_token"], scope="directory:read")
    assert narrow.status_code == 200, narrow.text
    assert unverified_claims(narrow.json()["access_token"])["scope"] == "directory:read"
    # The new refresh token keeps what was granted at sign-in (RFC 6749 §6).
    again = await refresh(identity, setting.web, narrow.json()["refresh_token"])
    assert again.status_code == 200, again.text
    assert set(again.json()["scope"].split()) == {"openid", "complaints:read", "directory:read"}


async def test_reuse_of_a_retired_refresh_token_revokes_the_family(
        identity: Identity, setting: Setting, caplog: pytest.LogCaptureFixture) -> None:
    first = await signed_in(identity, setting.web, setting.officer)
    second = (await refresh(identity, setting.web, first["refresh_token"])).json()
    assert await userinfo(identity, second["access_token"]) == 200
    with caplog.at_level(logging.WARNING, logger="comitas_identity.oauth.service"):
        replayed = await refresh(identity, setting.web, first["refresh_token"])
    assert replayed.status_code == 400 and replayed.json()["error"] == "invalid_grant"
    assert any("presented again" in r.getMessage() and "revoking its family" in r.getMessage()
               for r in caplog.records)
    # The thief's (or the client's) newer token stops working too, and the access tokens they bought.
    newer = await refresh(identity, setting.web, second["refresh_token"])
    assert newer.status_code == 400 and newer.json()["error"] == "invalid_grant"
    assert (await identity.introspect(setting.web, second["refresh_token"])) == {"active": False}
    assert (await identity.introspect(setting.web, second["access_token"]))["active"] is False
    assert (await identity.introspect(setting.web, first["access_token"]))["active"] is False


async def test_two_uses_at_once_leave_one_winner_and_revoke_the_family(identity: Identity, setting: Setting) -> None:
    first = await signed_in(identity, setting.web, setting.officer)
    answers = await asyncio.gather(*(refresh(identity, setting.web, first["refresh_token"]) for _ in range(2)))
    assert sorted(a.status_code for a in answers) == [200, 400]
    winner = next(a for a in answers if a.status_code == 200).json()
    # Whoever won, the family is over: one of the two uses was not the client's.
    assert (await refresh(identity, setting.web, winner["refresh_token"])).json()["error"] == "invalid_grant"


async def test_clients_other_than_confidential_web_clients_get_no_refresh_token(
        identity: Identity, setting: Setting) -> None:
    system = await identity.client()
    answer = await identity.token_response(system)
    assert answer.status_code == 200 and "refresh_token" not in answer.json()
    # Nor may they use the grant with another client's token.
    first = await signed_in(identity, setting.web, setting.officer)
    stolen = await refresh(identity, system, first["refresh_token"])
    assert stolen.status_code == 400 and stolen.json()["error"] == "unauthorized_client"
    # A public web client gets none either.
    public = await identity.client(institution_id=setting.web.institution_id, auth_method="none",
                                   redirect_uris=[CALLBACK], scopes=["complaints:read", "directory:read"])
    assert "refresh_token" not in await signed_in(identity, public, setting.officer)
    # A confidential web client registered without the grant gets none.
    without = await identity.client(institution_id=setting.web.institution_id, redirect_uris=[CALLBACK],
                                    scopes=["complaints:read", "directory:read"], refresh_tokens=False)
    assert "refresh_token" not in await signed_in(identity, without, setting.officer)


async def test_revocation_of_a_refresh_token_ends_its_family(identity: Identity, setting: Setting) -> None:
    first = await signed_in(identity, setting.web, setting.officer)
    second = (await refresh(identity, setting.web, first["refresh_token"])).json()
    active = await identity.introspect(setting.web, second["refresh_token"])
    assert active["active"] is True and active["token_type"] == "refresh_token"
    assert active["sub"] == setting.officer.id and active["client_id"] == setting.web.client_id
    # Another client learns nothing about it, and cannot revoke it.
    other = await identity.client()
    assert await identity.introspect(other, second["refresh_token"]) == {"active": False}
    ignored = await identity.http.post(f"{identity.url}/oauth/revoke", auth=other.basic,
                                       data={"token": second["refresh_token"]})
    assert ignored.status_code == 200
    assert (await identity.introspect(setting.web, second["refresh_token"]))["active"] is True
    revoked = await identity.http.post(f"{identity.url}/oauth/revoke", auth=setting.web.basic,
                                       data={"token": second["refresh_token"], "token_type_hint": "refresh_token"})
    assert revoked.status_code == 200, revoked.text
    assert await identity.introspect(setting.web, second["refresh_token"]) == {"active": False}
    assert (await identity.introspect(setting.web, second["access_token"]))["active"] is False
    answer = await refresh(identity, setting.web, second["refresh_token"])
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


async def test_an_officer_or_institution_disabled_since_cannot_refresh(identity: Identity, setting: Setting) -> None:
    first = await signed_in(identity, setting.web, setting.officer)
    async with identity.database.transaction() as session:
        await session.execute(update(UserAccount).where(UserAccount.id == setting.officer.id).values(active=False))
    answer = await refresh(identity, setting.web, first["refresh_token"])
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"

    officer = await new_officer(identity)
    token = (await signed_in(identity, setting.web, officer))["refresh_token"]
    await admin.update_institution(identity.database, officer.institution_id, {"active": False})
    answer = await refresh(identity, setting.web, token)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"


async def test_a_disabled_client_cannot_refresh(identity: Identity, setting: Setting) -> None:
    first = await signed_in(identity, setting.web, setting.officer)
    async with identity.database.transaction() as session:
        await session.execute(update(OAuthClient).where(OAuthClient.client_id == setting.web.client_id)
                              .values(active=False))
    # It cannot authenticate any more: the client's error, before any grant is looked at (RFC 6749 §5.2).
    answer = await refresh(identity, setting.web, first["refresh_token"])
    assert answer.status_code == 401 and answer.json()["error"] == "invalid_client"


async def test_a_refresh_token_cannot_be_presented_by_another_web_client(identity: Identity, setting: Setting) -> None:
    first = await signed_in(identity, setting.web, setting.officer)
    other = await identity.client(institution_id=setting.web.institution_id, redirect_uris=[CALLBACK],
                                  scopes=["complaints:read"])
    answer = await refresh(identity, other, first["refresh_token"])
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    # Unknown and malformed tokens are invalid_grant too.
    for value in ("x" * 43, "", "a" * 5000):
        answer = await refresh(identity, setting.web, value)
        assert answer.status_code == 400 and answer.json()["error"] in ("invalid_grant", "invalid_request"), value


async def test_housekeeping_forgets_families_past_their_end(identity: Identity, setting: Setting) -> None:
    first = await signed_in(identity, setting.web, setting.officer)
    family_end = timedelta(seconds=identity.settings.refresh_token_family_max_seconds)
    wanted = RefreshToken.token_hash == hash_refresh_token(first["refresh_token"])
    async with identity.database.transaction() as session:
        await oauth.purge_expired(session, now=real_now() + family_end - timedelta(minutes=5))
    async with identity.database.transaction() as session:
        assert (await session.execute(select(func.count()).where(wanted))).scalar_one() == 1
    async with identity.database.transaction() as session:
        await oauth.purge_expired(session, now=real_now() + family_end + timedelta(minutes=5))
    async with identity.database.transaction() as session:
        assert (await session.execute(select(func.count()).where(wanted))).scalar_one() == 0


async def test_a_nul_in_a_client_id_an_email_or_a_nonce_is_an_answer_not_a_server_error(stack):
    """PostgreSQL refuses NUL in a text parameter; schemathesis sent one in client_id and got a 500."""
    import httpx

    async with httpx.AsyncClient(base_url=stack.issuer) as http:
        by_form = await http.post("/oauth/token", data={"grant_type": "client_credentials", "client_id": "a\x00b",
                                                        "client_secret": "x"})
        assert by_form.status_code in (400, 401) and by_form.json()["error"] == "invalid_client"
        by_basic = await http.post("/oauth/token", data={"grant_type": "client_credentials"}, auth=("a\x00b", "x"))
        assert by_basic.status_code == 401 and by_basic.json()["error"] == "invalid_client"
