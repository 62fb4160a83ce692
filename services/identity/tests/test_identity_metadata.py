"""RFC 8414 metadata and OpenID Provider metadata, checked with Authlib's own validators."""

from __future__ import annotations

import pytest
from authlib.oauth2.rfc8414 import AuthorizationServerMetadata
from authlib.oidc import rpinitiated
from authlib.oidc.discovery import OpenIDProviderMetadata
from identity_testkit import Identity

from comitas_shared.scopes import SCOPES


async def test_the_metadata_document_validates_and_says_what_the_server_does(
    identity: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = await identity.http.get(f"{identity.url}/.well-known/oauth-authorization-server")
    assert response.status_code == 200
    document = response.json()
    # The test server is plain http on loopback; Authlib's validator otherwise insists on https.
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    AuthorizationServerMetadata(document).validate()

    base = identity.url
    assert document["issuer"] == identity.settings.issuer
    assert document["token_endpoint"] == f"{base}/oauth/token"
    assert document["authorization_endpoint"] == f"{base}/oauth/authorize"
    assert document["jwks_uri"] == f"{base}/.well-known/jwks.json"
    assert document["introspection_endpoint"] == f"{base}/oauth/introspect"
    assert document["revocation_endpoint"] == f"{base}/oauth/revoke"
    assert set(document["grant_types_supported"]) == {
        "client_credentials",
        "authorization_code",
        "refresh_token",
        "urn:ietf:params:oauth:grant-type:token-exchange",
    }
    assert {"client_secret_basic", "client_secret_post", "private_key_jwt"} <= set(
        document["token_endpoint_auth_methods_supported"]
    )
    assert "RS256" in document["token_endpoint_auth_signing_alg_values_supported"]
    assert document["scopes_supported"] == sorted({*SCOPES, "openid", "profile", "email"})
    assert document["code_challenge_methods_supported"] == ["S256"]

    openid = await identity.http.get(f"{identity.url}/.well-known/openid-configuration")
    assert openid.json() == document


async def test_the_openid_configuration_is_valid_discovery_metadata(
    identity: Identity, monkeypatch: pytest.MonkeyPatch
) -> None:
    response = await identity.http.get(f"{identity.url}/.well-known/openid-configuration")
    assert response.status_code == 200
    document = response.json()
    monkeypatch.setenv("AUTHLIB_INSECURE_TRANSPORT", "1")
    OpenIDProviderMetadata(document).validate(metadata_classes=[rpinitiated.OpenIDProviderMetadata])

    base = identity.url
    assert document["userinfo_endpoint"] == f"{base}/oauth/userinfo"
    assert document["end_session_endpoint"] == f"{base}/oauth/logout"
    assert document["subject_types_supported"] == ["public"]
    assert document["id_token_signing_alg_values_supported"] == ["RS256"]
    assert {"sub", "nonce", "name", "email", "auth_time"} <= set(document["claims_supported"])
    assert document["request_uri_parameter_supported"] is False
    # A validator that accepted anything would prove nothing: a document missing a required member fails.
    broken = {k: v for k, v in document.items() if k != "subject_types_supported"}
    with pytest.raises(ValueError, match="subject_types_supported"):
        OpenIDProviderMetadata(broken).validate()

    jwks = await identity.http.get(document["jwks_uri"])
    assert jwks.status_code == 200 and jwks.json()["keys"]


async def test_openapi_and_health(identity: Identity) -> None:
    openapi = (await identity.http.get(f"{identity.url}/openapi.json")).json()
    assert {
        "/oauth/token",
        "/oauth/introspect",
        "/oauth/revoke",
        "/v1/institutions",
        "/v1/institutions/{institution_id}",
    } <= openapi["paths"].keys()
    assert (await identity.http.get(f"{identity.url}/healthz")).json() == {"status": "ok"}
    ready = await identity.http.get(f"{identity.url}/readyz")
    assert ready.status_code == 200, ready.text
