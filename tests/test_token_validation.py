"""Every bad token a resource server can meet is refused with 401 (and WWW-Authenticate), whatever
service it is sent to. Tokens are forged with identity's real signing key where the point is a bad
claim (a wrong audience, a lifetime too long, an issue time in the future …), and with another key where
the point is the signature."""

from __future__ import annotations

import base64
import json
import uuid

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import select

from comitas_shared.auth import MAX_TOKEN_LIFETIME_SECONDS, TokenValidator
from comitas_shared.clock import real_timestamp
from comitas_shared.db import Database
from comitas_shared.testing import eventually


async def identity_signing_key(stack) -> RSAKey:
    from comitas_identity.keys import crypto
    from comitas_identity.keys.models import SigningKey

    database = Database(stack.identity_db_url)
    try:
        async with database.transaction() as session:
            row = (await session.execute(select(SigningKey).where(SigningKey.state == "active"))).scalar_one()
    finally:
        await database.dispose()
    master = stack.identity.app.state.settings.master_key.get_secret_value()
    return crypto.decrypt_private_key(master, row.kid, row.encrypted_private_key)


def claims_for(stack, credentials, **overrides) -> dict:
    now = int(real_timestamp())
    claims = {"iss": stack.issuer, "sub": credentials.client_id, "aud": "comitas", "exp": now + 300, "iat": now,
              "nbf": now, "jti": str(uuid.uuid4()), "client_id": credentials.client_id,
              "scope": "complaints:read", "institution_id": credentials.institution_id}
    claims.update(overrides)
    return claims


def sign(key: RSAKey, claims: dict, *, typ: str = "at+jwt", kid: str | None = None) -> str:
    return jwt.encode({"alg": "RS256", "typ": typ, "kid": kid or key.kid}, claims, key)


def b64(value: dict) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")


async def status_with(stack, token: str | None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    async with httpx.AsyncClient(base_url=stack.intake.url, headers=headers) as http:
        return await http.get("/v1/complaints")


async def test_a_well_formed_forged_token_passes_so_the_others_fail_for_their_flaw(stack):
    institution = await stack.new_institution()
    key = await identity_signing_key(stack)
    assert (await status_with(stack, sign(key, claims_for(stack, institution)))).status_code == 200


@pytest.mark.parametrize("flaw", ["expired", "wrong-issuer", "wrong-audience", "wrong-typ", "no-institution",
                                  "alg-none", "tampered", "unknown-kid", "other-key-same-kid", "garbage",
                                  "lives-too-long", "issued-in-the-future", "iat-not-a-number"])
async def test_bad_tokens_are_401_with_www_authenticate(stack, flaw):
    institution = await stack.new_institution()
    key = await identity_signing_key(stack)
    stranger = RSAKey.generate_key(2048, parameters={"alg": "RS256"}, private=True)
    now = int(real_timestamp())
    token = {
        "expired": lambda: sign(key, claims_for(stack, institution, exp=now - 3600, iat=now - 4000, nbf=now - 4000)),
        "wrong-issuer": lambda: sign(key, claims_for(stack, institution, iss="https://evil.example")),
        "wrong-audience": lambda: sign(key, claims_for(stack, institution, aud="another-api")),
        "wrong-typ": lambda: sign(key, claims_for(stack, institution), typ="JWT"),
        "no-institution": lambda: sign(key, {k: v for k, v in claims_for(stack, institution).items()
                                             if k != "institution_id"}),
        "alg-none": lambda: f"{b64({'alg': 'none', 'typ': 'at+jwt', 'kid': key.kid})}."
                            f"{b64(claims_for(stack, institution))}.",
        "tampered": lambda: _tamper(sign(key, claims_for(stack, institution))),
        "unknown-kid": lambda: sign(stranger, claims_for(stack, institution), kid="not-a-known-kid"),
        "other-key-same-kid": lambda: sign(stranger, claims_for(stack, institution), kid=key.kid),
        "garbage": lambda: "not.a.jwt",
        # Within the expiry checks, yet a bearer credential for days: refused for its lifetime alone.
        "lives-too-long": lambda: sign(key, claims_for(stack, institution, iat=now,
                                                       exp=now + MAX_TOKEN_LIFETIME_SECONDS + 60)),
        "issued-in-the-future": lambda: sign(key, claims_for(stack, institution, iat=now + 600, nbf=now,
                                                             exp=now + 900)),
        "iat-not-a-number": lambda: sign(key, claims_for(stack, institution, iat="yesterday")),
    }[flaw]()
    response = await status_with(stack, token)
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert response.headers["content-type"] == "application/problem+json"


async def test_the_lifetime_limit_is_the_resource_servers_to_set(stack):
    """A resource server that accepts longer tokens says so; the same token then passes, so the refusal
    above is the limit's doing and nothing else's."""
    institution = await stack.new_institution()
    key = await identity_signing_key(stack)
    now = int(real_timestamp())
    token = sign(key, claims_for(stack, institution, iat=now, exp=now + 2 * 3600))
    async with httpx.AsyncClient() as http:
        def validator(max_lifetime: int) -> TokenValidator:
            return TokenValidator(issuer=stack.issuer, audience="comitas", http=http,
                                  jwks_url=f"{stack.issuer}/.well-known/jwks.json", max_lifetime_seconds=max_lifetime)

        principal = await validator(3 * 3600).validate(token)
        assert principal.institution_id == institution.institution_id
        with pytest.raises(Exception, match="lives longer"):
            await validator(3600).validate(token)


async def test_the_legacy_audience_is_accepted_only_where_allowed(stack):
    institution = await stack.new_institution()
    key = await identity_signing_key(stack)
    legacy = sign(key, claims_for(stack, institution, aud="comitas"))
    own = sign(key, claims_for(stack, institution, aud=["urn:comitas:intake", "urn:comitas:mla"]))
    async with httpx.AsyncClient() as http:
        def validator(accept_legacy: bool) -> TokenValidator:
            return TokenValidator(issuer=stack.issuer, audience="urn:comitas:intake", http=http,
                                  jwks_url=f"{stack.issuer}/.well-known/jwks.json",
                                  accept_legacy_audience=accept_legacy)

        assert (await validator(True).validate(legacy)).subject == institution.client_id
        assert (await validator(False).validate(own)).subject == institution.client_id
        with pytest.raises(Exception, match="audience"):
            await validator(False).validate(legacy)


def _tamper(token: str) -> str:
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["scope"] = "admin complaints:read complaints:pii"
    return f"{header}.{b64(claims)}.{signature}"


async def test_no_token_is_401(stack):
    response = await status_with(stack, None)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_revoked_token_is_refused_by_every_service(stack):
    institution = await stack.new_institution()
    token = await stack.token(institution)
    assert (await status_with(stack, token)).status_code == 200
    revoke = await stack.http.post(f"{stack.identity.url}/oauth/revoke", data={"token": token},
                                   auth=(institution.client_id, institution.client_secret))
    assert revoke.status_code == 200

    async def refused_everywhere():
        intake = await status_with(stack, token)
        async with httpx.AsyncClient(base_url=stack.notifications.url,
                                     headers={"Authorization": f"Bearer {token}"}) as http:
            notifications = await http.get("/v1/subscriptions")
        return intake.status_code == 401 and notifications.status_code == 401

    assert await eventually(refused_everywhere, timeout=5)
    assert (await status_with(stack, await stack.token(institution))).status_code == 200
