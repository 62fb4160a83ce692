"""The token endpoint with the client credentials grant, over real HTTP."""

from __future__ import annotations

import time
import uuid
from typing import Any

from identity_testkit import ALL_SCOPES, Identity, unverified_claims
from joserfc import jwt
from joserfc.jwk import KeySet, OctKey, RSAKey

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"


async def verify_with_jwks(identity: Identity, token: str) -> jwt.Token:
    jwks = (await identity.http.get(f"{identity.url}/.well-known/jwks.json")).json()
    return jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["RS256"])


async def test_basic_client_gets_an_rfc9068_token_that_verifies_with_the_jwks(identity: Identity) -> None:
    client = await identity.client(scopes=["complaints:read", "directory:read"])
    before = int(time.time())
    response = await identity.token_response(client)

    assert response.status_code == 200, response.text
    assert response.headers["cache-control"] == "no-store"
    body = response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == identity.settings.token_lifetime_seconds
    assert body["scope"] == "complaints:read directory:read"
    decoded = await verify_with_jwks(identity, body["access_token"])
    assert decoded.header["typ"] == "at+jwt"
    assert decoded.header["alg"] == "RS256"
    assert decoded.header["kid"]
    claims = decoded.claims
    assert claims["iss"] == identity.settings.issuer
    assert claims["sub"] == client.client_id == claims["client_id"]
    assert claims["aud"] == "comitas"
    assert claims["institution_id"] == client.institution_id
    assert claims["scope"] == "complaints:read directory:read"
    assert before <= claims["iat"] == claims["nbf"] <= int(time.time())
    assert claims["exp"] == claims["iat"] + identity.settings.token_lifetime_seconds
    assert len(claims["jti"]) >= 20


async def test_each_token_has_its_own_jti(identity: Identity) -> None:
    client = await identity.client()
    first = unverified_claims(await identity.token(client))
    second = unverified_claims(await identity.token(client))
    assert first["jti"] != second["jti"]


async def test_client_secret_post_works_too(identity: Identity) -> None:
    client = await identity.client(scopes=["mla:read"])
    response = await identity.http.post(
        f"{identity.url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_id": client.client_id,
            "client_secret": client.client_secret,
        },
    )
    assert response.status_code == 200, response.text
    assert response.json()["scope"] == "mla:read"


async def test_a_subset_of_the_granted_scopes_can_be_asked_for(identity: Identity) -> None:
    client = await identity.client()
    token = await identity.token(client, scope="referrals:read complaints:read")
    assert unverified_claims(token)["scope"] == "complaints:read referrals:read"


async def test_a_scope_not_granted_is_invalid_scope(identity: Identity) -> None:
    client = await identity.client(scopes=["complaints:read"])
    response = await identity.token_response(client, scope="complaints:read complaints:pii")
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["error"] == "invalid_scope"


async def test_a_scope_outside_the_catalogue_is_invalid_scope(identity: Identity) -> None:
    client = await identity.client()
    response = await identity.token_response(client, scope="everything:everywhere")
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_scope"


async def test_a_wrong_secret_is_401_invalid_client_with_www_authenticate(identity: Identity) -> None:
    client = await identity.client()
    response = await identity.http.post(
        f"{identity.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(client.client_id, "not-the-secret"),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"
    assert response.headers["www-authenticate"].startswith("Basic")
    assert "access_token" not in response.text


async def test_an_unknown_client_is_invalid_client(identity: Identity) -> None:
    response = await identity.http.post(
        f"{identity.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=("cli_nobody", "x" * 40),
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_undecodable_basic_credentials_are_invalid_client(identity: Identity) -> None:
    response = await identity.http.post(
        f"{identity.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        headers={"Authorization": "Basic //79"},
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_no_credentials_at_all_is_invalid_client(identity: Identity) -> None:
    response = await identity.http.post(
        f"{identity.url}/oauth/token", data={"grant_type": "client_credentials"}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "invalid_client"


async def test_an_unsupported_grant_type_is_refused(identity: Identity) -> None:
    client = await identity.client()
    response = await identity.http.post(
        f"{identity.url}/oauth/token", data={"grant_type": "password"}, auth=client.basic
    )
    assert response.status_code == 400
    assert response.json()["error"] == "unsupported_grant_type"


async def test_a_web_client_may_not_use_client_credentials(identity: Identity) -> None:
    client = await identity.client(redirect_uris=["https://portal.example.org/callback"])
    response = await identity.token_response(client)
    assert response.status_code == 400
    assert response.json()["error"] == "unauthorized_client"


# --- private_key_jwt (RFC 7523) -------------------------------------------------------------------


def rsa_key() -> RSAKey:
    key = RSAKey.generate_key(2048, private=True)
    key.ensure_kid()
    return key


def assertion(key: RSAKey, client_id: str, audience: str, **overrides: Any) -> str:
    """A client assertion; an override of None leaves the claim out."""
    now = int(time.time())
    claims = {
        "iss": client_id,
        "sub": client_id,
        "aud": audience,
        "iat": now,
        "exp": now + 60,
        "jti": uuid.uuid4().hex,
        **overrides,
    }
    claims = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, claims, key)


async def jwt_client(identity: Identity, key: RSAKey, scopes: list[str] | None = None):
    public = {"keys": [key.as_dict(private=False) | {"kid": key.kid}]}
    return await identity.client(scopes=scopes or ALL_SCOPES, auth_method="private_key_jwt", jwks=public)


async def post_assertion(identity: Identity, signed: str, **data: str):
    return await identity.http.post(
        f"{identity.url}/oauth/token",
        data={
            "grant_type": "client_credentials",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": signed,
            **data,
        },
    )


async def test_private_key_jwt_client_gets_a_token(identity: Identity) -> None:
    key = rsa_key()
    client = await jwt_client(identity, key, ["mla:read", "mla:write"])
    assert client.client_secret is None
    response = await post_assertion(
        identity, assertion(key, client.client_id, identity.settings.token_endpoint), scope="mla:write"
    )
    assert response.status_code == 200, response.text
    claims = (await verify_with_jwks(identity, response.json()["access_token"])).claims
    assert claims["sub"] == client.client_id
    assert claims["institution_id"] == client.institution_id
    assert claims["scope"] == "mla:write"


async def test_the_issuer_is_an_accepted_assertion_audience(identity: Identity) -> None:
    key = rsa_key()
    client = await jwt_client(identity, key)
    response = await post_assertion(identity, assertion(key, client.client_id, identity.settings.issuer))
    assert response.status_code == 200, response.text


async def test_an_assertion_cannot_be_replayed(identity: Identity) -> None:
    key = rsa_key()
    client = await jwt_client(identity, key)
    signed = assertion(key, client.client_id, identity.settings.token_endpoint)
    assert (await post_assertion(identity, signed)).status_code == 200
    replayed = await post_assertion(identity, signed)
    assert replayed.status_code in (400, 401)
    assert replayed.json()["error"] == "invalid_client"


async def test_assertions_that_must_be_refused(identity: Identity) -> None:
    key, stranger = rsa_key(), rsa_key()
    client = await jwt_client(identity, key)
    endpoint = identity.settings.token_endpoint
    refused = {
        "signed by another key": assertion(stranger, client.client_id, endpoint),
        "for another audience": assertion(key, client.client_id, "https://elsewhere.example.org/token"),
        "expired": assertion(key, client.client_id, endpoint, exp=int(time.time()) - 120),
        "iss is not sub": assertion(key, client.client_id, endpoint, iss="someone-else"),
        "without jti": assertion(key, client.client_id, endpoint, jti=None),
        "without exp": assertion(key, client.client_id, endpoint, exp=None),
        "living too long": assertion(key, client.client_id, endpoint, exp=int(time.time()) + 86400),
        "HS256 with the public key": jwt.encode(
            {"alg": "HS256"},
            {
                "iss": client.client_id,
                "sub": client.client_id,
                "aud": endpoint,
                "exp": int(time.time()) + 60,
                "jti": "x",
            },
            OctKey.import_key("s" * 32),
        ),
    }
    for reason, signed in refused.items():
        response = await post_assertion(identity, signed)
        assert response.status_code in (400, 401), reason
        assert response.json()["error"] == "invalid_client", reason


async def test_a_secret_client_cannot_authenticate_with_an_assertion_and_vice_versa(
    identity: Identity,
) -> None:
    key = rsa_key()
    jwt_only = await jwt_client(identity, key)
    response = await identity.http.post(
        f"{identity.url}/oauth/token",
        data={"grant_type": "client_credentials"},
        auth=(jwt_only.client_id, "x" * 40),
    )
    assert response.status_code == 401
