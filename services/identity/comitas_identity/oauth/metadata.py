"""RFC 8414 authorization server metadata (also served as an OpenID discovery document, which is
where OIDC-minded clients look; it carries no ID-token fields since no ID tokens are issued)."""

from __future__ import annotations

from typing import Any

from comitas_shared.scopes import SCOPES

from ..keys.crypto import ALGORITHM
from ..settings import IdentitySettings
from .domain import ASSERTION_ALGORITHMS, AUTH_METHODS
from .server import ENDPOINT_AUTH_METHODS


def metadata_document(settings: IdentitySettings) -> dict[str, Any]:
    return {
        "issuer": settings.issuer,
        "authorization_endpoint": settings.endpoint("/oauth/authorize"),
        "token_endpoint": settings.token_endpoint,
        "jwks_uri": settings.endpoint("/.well-known/jwks.json"),
        "introspection_endpoint": settings.endpoint("/oauth/introspect"),
        "revocation_endpoint": settings.endpoint("/oauth/revoke"),
        "scopes_supported": sorted(SCOPES),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["client_credentials", "authorization_code"],
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
