"""Authorization server metadata (RFC 8414), which is also the OpenID Provider metadata (OpenID Connect
Discovery 1.0 §3, RP-Initiated Logout §2.1): one document, served at both well-known addresses, so the
two can never disagree."""

from __future__ import annotations

from typing import Any

from comitas_shared.scopes import SCOPES

from ..keys.service import ALGORITHM
from ..settings import IdentitySettings
from .domain import ASSERTION_ALGORITHMS, AUTH_METHODS, OIDC_SCOPES, REFRESH_TOKEN, TOKEN_EXCHANGE
from .server import ENDPOINT_AUTH_METHODS

# What an ID token and userinfo may say about an officer.
CLAIMS = ["sub", "iss", "aud", "exp", "iat", "auth_time", "nonce", "at_hash", "name", "email"]


def metadata_document(settings: IdentitySettings) -> dict[str, Any]:
    return {
        "issuer": settings.issuer,
        "authorization_endpoint": settings.endpoint("/oauth/authorize"),
        "token_endpoint": settings.token_endpoint,
        "userinfo_endpoint": settings.endpoint("/oauth/userinfo"),
        "end_session_endpoint": settings.endpoint("/oauth/logout"),
        "jwks_uri": settings.endpoint("/.well-known/jwks.json"),
        "introspection_endpoint": settings.endpoint("/oauth/introspect"),
        "revocation_endpoint": settings.endpoint("/oauth/revoke"),
        "scopes_supported": sorted({*SCOPES, *OIDC_SCOPES}),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["client_credentials", "authorization_code", REFRESH_TOKEN, TOKEN_EXCHANGE],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [ALGORITHM],
        "claims_supported": CLAIMS,
        "claims_parameter_supported": False,
        "request_parameter_supported": False,
        "request_uri_parameter_supported": False,
        "token_endpoint_auth_methods_supported": list(AUTH_METHODS),
        "token_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "introspection_endpoint_auth_methods_supported": ENDPOINT_AUTH_METHODS,
        "introspection_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "revocation_endpoint_auth_methods_supported": ENDPOINT_AUTH_METHODS,
        "revocation_endpoint_auth_signing_alg_values_supported": ASSERTION_ALGORITHMS,
        "code_challenge_methods_supported": ["S256"],
        "access_token_signing_alg_values_supported": [ALGORITHM],
        "authorization_response_iss_parameter_supported": False,
        "service_documentation": settings.endpoint("/docs"),
    }
