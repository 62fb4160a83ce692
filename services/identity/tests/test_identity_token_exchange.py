"""OAuth 2.0 Token Exchange (RFC 8693): a platform service acting on an institution's behalf gets a token
of that institution for another service, narrowed, no longer-lived, naming the service in ``act``."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from identity_testkit import Identity, Registered, unverified_claims, unverified_header
from joserfc import jwt
from joserfc.jwk import RSAKey

from comitas_identity import admin
from comitas_identity.keys.service import KeyRing
from comitas_shared import randomness
from comitas_shared.auth import TokenValidator
from comitas_shared.clock import real_timestamp

EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ACCESS_TOKEN = "urn:ietf:params:oauth:token-type:access_token"
INTAKE, REFERRAL, NOTIFICATIONS = "urn:comitas:intake", "urn:comitas:referral", "urn:comitas:notifications"
SUBJECT_SCOPES = ["complaints:read", "complaints:pii", "referrals:write", "directory:read"]


def form(items: list[tuple[str, str]]) -> dict[str, Any]:
    return {"content": urlencode(items), "headers": {"Content-Type": "application/x-www-form-urlencoded"}}


async def token_for(identity: Identity, client: Registered, *resources: str, scope: str | None = None) -> str:
    items = [("grant_type", "client_credentials"), *(("resource", r) for r in resources)]
    if scope is not None:
        items.append(("scope", scope))
    response = await identity.http.post(f"{identity.url}/oauth/token", auth=client.basic, **form(items))
    assert response.status_code == 200, response.text
    return str(response.json()["access_token"])


async def exchange(identity: Identity, actor: Registered, subject_token: str, *, resource: str | list[str] = INTAKE,
                   scope: str | None = "complaints:pii", **extra: str) -> httpx.Response:
    items = [("grant_type", EXCHANGE), ("subject_token", subject_token), ("subject_token_type", ACCESS_TOKEN)]
    items += [("resource", r) for r in ([resource] if isinstance(resource, str) else resource)]
    if scope is not None:
        items.append(("scope", scope))
    items += list(extra.items())
    return await identity.http.post(f"{identity.url}/oauth/token", auth=actor.basic, **form(items))


async def service(identity: Identity, *, resource: str = REFERRAL, exchange_resources: list[str] | None = None,
                  exchange_scopes: list[str] | None = None) -> Registered:
    name = f"svc-{uuid.uuid4().hex[:8]}"
    created = await admin.register_service(
        identity.database, service=name, country="FR", service_resource=resource,
        exchange_resources=exchange_resources if exchange_resources is not None else [INTAKE],
        exchange_scopes=exchange_scopes if exchange_scopes is not None else ["complaints:read", "complaints:pii"])
    return Registered(created.institution_id, created.client_id, created.client_secret, created.scopes)


@pytest.fixture
async def institution(identity: Identity) -> Registered:
    return await identity.client(scopes=SUBJECT_SCOPES)


@pytest.fixture
async def referral(identity: Identity) -> Registered:
    return await service(identity)


def error_of(response: httpx.Response) -> str:
    assert response.status_code in (400, 401), response.text
    assert response.headers["cache-control"] == "no-store"
    return str(response.json()["error"])


async def test_the_exchanged_token_is_the_institution_s_for_intake_narrowed_and_acted_by_the_service(
        identity: Identity, institution: Registered, referral: Registered) -> None:
    subject_token = await token_for(identity, institution, REFERRAL)
    subject = unverified_claims(subject_token)
    response = await exchange(identity, referral, subject_token, scope="complaints:pii")
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["issued_token_type"] == ACCESS_TOKEN and body["token_type"] == "Bearer"
    assert body["scope"] == "complaints:pii" and 0 < body["expires_in"] <= subject["exp"] - real_timestamp() + 2
    assert "refresh_token" not in body
    token = body["access_token"]
    claims = unverified_claims(token)
    assert unverified_header(token)["typ"] == "at+jwt"
    assert {k: claims[k] for k in ("sub", "client_id", "institution_id")} == {
        "sub": institution.client_id, "client_id": institution.client_id,
        "institution_id": institution.institution_id}
    assert claims["aud"] == INTAKE and claims["scope"] == "complaints:pii"
    assert claims["act"] == {"sub": referral.client_id}
    assert claims["exp"] <= subject["exp"] and claims["jti"] != subject["jti"]

    # It is a valid token at intake's audience, and only there.
    async with httpx.AsyncClient() as http:
        at_intake = TokenValidator(issuer=identity.settings.issuer, audience=INTAKE,
                                   jwks_url=f"{identity.url}/.well-known/jwks.json", http=http)
        principal = await at_intake.validate(token)
        assert principal.institution_id == institution.institution_id
        assert principal.scopes == {"complaints:pii"} and principal.claims["act"] == {"sub": referral.client_id}
        at_referral = TokenValidator(issuer=identity.settings.issuer, audience=REFERRAL,
                                     jwks_url=f"{identity.url}/.well-known/jwks.json", http=http)
        with pytest.raises(Exception, match="audience"):
            await at_referral.validate(token)

    # The institution sees it, actor included, and may revoke it.
    introspected = await identity.introspect(institution, token)
    assert introspected["active"] is True and introspected["act"] == {"sub": referral.client_id}
    revoked = await identity.http.post(f"{identity.url}/oauth/revoke", data={"token": token}, auth=institution.basic)
    assert revoked.status_code == 200
    assert (await identity.introspect(institution, token)) == {"active": False}


async def test_a_token_already_exchanged_nests_its_actors(identity: Identity, institution: Registered,
                                                          referral: Registered) -> None:
    first = (await exchange(identity, referral, await token_for(identity, institution, REFERRAL))).json()
    intake_service = await service(identity, resource=INTAKE, exchange_resources=[NOTIFICATIONS],
                                   exchange_scopes=["complaints:pii"])
    second = await exchange(identity, intake_service, first["access_token"], resource=NOTIFICATIONS)
    assert second.status_code == 200, second.text
    claims = unverified_claims(second.json()["access_token"])
    assert claims["act"] == {"sub": intake_service.client_id, "act": {"sub": referral.client_id}}
    assert claims["institution_id"] == institution.institution_id and claims["aud"] == NOTIFICATIONS
    assert claims["exp"] <= unverified_claims(first["access_token"])["exp"]


async def test_a_subject_token_naming_several_services_including_the_actor_is_accepted(
        identity: Identity, institution: Registered, referral: Registered) -> None:
    both = await token_for(identity, institution, REFERRAL, INTAKE)
    assert (await exchange(identity, referral, both)).status_code == 200
    # Where resource servers still accept the legacy audience (outside production), it names every service.
    legacy = await token_for(identity, institution)
    assert unverified_claims(legacy)["aud"] == "comitas"
    assert (await exchange(identity, referral, legacy)).status_code == 200


async def test_scopes_beyond_the_subject_token_or_the_service_are_invalid_scope(
        identity: Identity, institution: Registered, referral: Registered) -> None:
    narrow = await token_for(identity, institution, REFERRAL, scope="complaints:read referrals:write")
    wider = await exchange(identity, referral, narrow, scope="complaints:read complaints:pii")
    assert error_of(wider) == "invalid_scope" and "complaints:pii" in wider.json()["error_description"]
    subject_token = await token_for(identity, institution, REFERRAL)
    # referrals:write is the institution's, but not one referral may ask for on anyone's behalf.
    assert error_of(await exchange(identity, referral, subject_token, scope="referrals:write")) == "invalid_scope"
    assert error_of(await exchange(identity, referral, subject_token, scope=None)) == "invalid_scope"
    assert error_of(await exchange(identity, referral, subject_token, scope="root:all")) == "invalid_scope"


async def test_unknown_or_unallowed_resources_are_invalid_target(
        identity: Identity, institution: Registered, referral: Registered) -> None:
    subject_token = await token_for(identity, institution, REFERRAL)
    for resource in ("urn:comitas:nowhere", "https://elsewhere.example/api", NOTIFICATIONS, [INTAKE, NOTIFICATIONS],
                     []):
        response = await exchange(identity, referral, subject_token, resource=resource)
        assert error_of(response) == "invalid_target", resource


async def test_a_client_that_may_not_exchange_is_unauthorized_client(
        identity: Identity, institution: Registered) -> None:
    subject_token = await token_for(identity, institution, REFERRAL)
    # An institution's own system, and a platform service registered without exchange rights.
    other_institution = await identity.client()
    plain = await admin.register_service(identity.database, service=f"svc-{uuid.uuid4().hex[:8]}", country="FR")
    assert plain.token_exchange is None
    for actor in (other_institution, institution,
                  Registered(plain.institution_id, plain.client_id, plain.client_secret, plain.scopes)):
        response = await exchange(identity, actor, subject_token)
        assert error_of(response) == "unauthorized_client", actor.client_id
    wrong_secret = Registered("", (await service(identity)).client_id, "not-the-secret-" * 3, [])
    response = await exchange(identity, wrong_secret, subject_token)
    assert response.status_code == 401 and response.json()["error"] == "invalid_client"


async def test_revoked_expired_foreign_or_misaddressed_subject_tokens_are_invalid_request(
        identity: Identity, institution: Registered, referral: Registered) -> None:
    """RFC 8693 §2.2.2: an invalid or unacceptable subject_token is invalid_request."""
    revoked = await token_for(identity, institution, REFERRAL)
    assert (await identity.http.post(f"{identity.url}/oauth/revoke", data={"token": revoked},
                                     auth=institution.basic)).status_code == 200
    response = await exchange(identity, referral, revoked)
    assert error_of(response) == "invalid_request" and "revoked" in response.json()["error_description"]

    claims = unverified_claims(await token_for(identity, institution, REFERRAL))
    now = int(real_timestamp())
    async with identity.database.transaction() as session:
        our_key = await KeyRing(identity.master_key).signing_key(session)
    expired = {**claims, "jti": randomness.token_urlsafe(16), "iat": now - 700, "nbf": now - 700, "exp": now - 100}
    response = await exchange(identity, referral, _sign(expired, our_key))
    assert error_of(response) == "invalid_request" and "expired" in response.json()["error_description"]

    foreign_key = RSAKey.generate_key(2048, parameters={"kid": "foreign"})
    for forged in (_sign({**claims, "iss": "https://idp.elsewhere.example"}, foreign_key),
                   _sign(claims, foreign_key),
                   _sign({**claims, "iss": "https://idp.elsewhere.example"}, our_key),
                   "not-a-token"):
        response = await exchange(identity, referral, forged)
        assert error_of(response) == "invalid_request"
        assert "not an access token of this issuer" in response.json()["error_description"]

    # A token given to intake only is not referral's to exchange.
    for_intake = await token_for(identity, institution, INTAKE)
    response = await exchange(identity, referral, for_intake)
    assert error_of(response) == "invalid_request" and "addressed" in response.json()["error_description"]


async def test_malformed_exchange_requests_are_invalid_request(
        identity: Identity, institution: Registered, referral: Registered) -> None:
    subject_token = await token_for(identity, institution, REFERRAL)
    cases = [
        {"actor_token": subject_token, "actor_token_type": ACCESS_TOKEN},
        {"requested_token_type": "urn:ietf:params:oauth:token-type:refresh_token"},
        {"subject_token_type": "urn:ietf:params:oauth:token-type:id_token"},
    ]
    for extra in cases:
        items = [("grant_type", EXCHANGE), ("subject_token", subject_token), ("resource", INTAKE),
                 ("scope", "complaints:pii"), *extra.items()]
        if "subject_token_type" not in extra:
            items.append(("subject_token_type", ACCESS_TOKEN))
        response = await identity.http.post(f"{identity.url}/oauth/token", auth=referral.basic, **form(items))
        assert error_of(response) == "invalid_request", extra
    missing = await identity.http.post(f"{identity.url}/oauth/token", auth=referral.basic, **form([
        ("grant_type", EXCHANGE), ("subject_token_type", ACCESS_TOKEN), ("resource", INTAKE)]))
    assert error_of(missing) == "invalid_request"
    twice = await identity.http.post(f"{identity.url}/oauth/token", auth=referral.basic, **form([
        ("grant_type", EXCHANGE), ("subject_token", subject_token), ("subject_token", subject_token),
        ("subject_token_type", ACCESS_TOKEN), ("resource", INTAKE), ("scope", "complaints:pii")]))
    assert error_of(twice) == "invalid_request"


async def test_an_institution_deactivated_since_gets_no_exchange(identity: Identity, referral: Registered) -> None:
    institution = await identity.client(scopes=SUBJECT_SCOPES)
    subject_token = await token_for(identity, institution, REFERRAL)
    assert await admin.update_institution(identity.database, institution.institution_id, {"active": False}) == \
        ["active"]
    response = await exchange(identity, referral, subject_token)
    assert error_of(response) == "invalid_request" and "no longer act" in response.json()["error_description"]


async def test_a_service_s_own_tokens_carry_its_own_institution_only(
        identity: Identity, institution: Registered, referral: Registered) -> None:
    """Client credentials give a service a token of its own entry (svc_…), which owns nothing, with its own
    scopes; no parameter makes it another institution's."""
    own = await identity.http.post(f"{identity.url}/oauth/token", auth=referral.basic, **form([
        ("grant_type", "client_credentials"), ("resource", INTAKE), ("institution_id", institution.institution_id),
        ("subject_token", await token_for(identity, institution, REFERRAL)),
        ("subject_token_type", ACCESS_TOKEN)]))
    assert own.status_code == 200, own.text
    claims = unverified_claims(own.json()["access_token"])
    assert claims["institution_id"] == referral.institution_id != institution.institution_id
    assert claims["institution_id"].startswith("svc_") and claims["sub"] == referral.client_id
    assert claims["scope"] == "directory:read" and "act" not in claims
    # The scopes it may exchange for are not its own.
    wider = await identity.http.post(f"{identity.url}/oauth/token", auth=referral.basic, **form([
        ("grant_type", "client_credentials"), ("scope", "complaints:pii")]))
    assert error_of(wider) == "invalid_scope"
    # Its own token as a subject token stays its own institution's.
    exchanged = await exchange(identity, referral, await token_for(identity, referral, REFERRAL),
                               scope="complaints:read")
    assert error_of(exchanged) == "invalid_scope"  # directory:read only: nothing it may carry to intake


async def test_service_clients_are_registered_with_a_checked_policy(identity: Identity) -> None:
    name = f"svc-{uuid.uuid4().hex[:8]}"
    created = await admin.register_service(identity.database, service=name, country="FR",
                                           exchange_resources=[INTAKE], exchange_scopes=["complaints:read"])
    assert created.client_id == name and created.institution_id == f"svc_{name}" and created.client_secret
    assert created.token_exchange == {"service_resource": f"urn:comitas:{name}", "resources": [INTAKE],
                                      "scopes": ["complaints:read"]}
    for bad in ({"exchange_scopes": ["admin"]}, {"exchange_scopes": ["root:all"]}, {"exchange_resources": []},
                {"exchange_resources": ["not a uri"]}, {"exchange_scopes": []}):
        options: dict[str, Any] = {"exchange_resources": [INTAKE], "exchange_scopes": ["complaints:read"], **bad}
        with pytest.raises(ValueError):
            await admin.register_service(identity.database, service=f"svc-{uuid.uuid4().hex[:8]}", country="FR",
                                         **options)
    institution_id = await identity.institution()
    with pytest.raises(ValueError, match="web or public"):
        await admin.register_client(identity.database, institution_id=institution_id, name="web", scopes=[],
                                    redirect_uris=["https://portal.example.org/cb"], service_resource=REFERRAL,
                                    exchange_resources=[INTAKE], exchange_scopes=["complaints:read"])


def _sign(claims: dict[str, Any], key: RSAKey) -> str:
    return jwt.encode({"alg": "RS256", "typ": "at+jwt", "kid": key.kid}, claims, key, algorithms=["RS256"])


async def test_refused_exchanges_do_not_lock_the_service_out_but_wrong_secrets_do(
        identity: Identity, institution: Registered) -> None:
    """The token endpoint throttles failed guesses per client and address. A service's exchange refused
    for its subject token or scope is no guess (tokens are signed): past the limit it still exchanges."""
    referral = await service(identity)
    subject_token = await token_for(identity, institution, REFERRAL)
    limit = int(identity.settings.token_failure_limit.split("/")[0])
    for _ in range(limit + 1):
        assert error_of(await exchange(identity, referral, subject_token, scope="referrals:write")) == "invalid_scope"
    assert (await exchange(identity, referral, subject_token)).status_code == 200
    guesser = Registered("", referral.client_id, "wrong-secret-" * 3, [])
    statuses = [(await exchange(identity, guesser, subject_token)).status_code for _ in range(limit + 1)]
    assert statuses[:limit] == [401] * limit and statuses[-1] == 429
