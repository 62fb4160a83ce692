"""Rules about clients, secrets, scopes and codes. No I/O."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import uuid
from typing import Any
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from comitas_shared.scopes import unknown_scopes

SECRET_METHODS = ("client_secret_basic", "client_secret_post")
AUTH_METHODS = (*SECRET_METHODS, "private_key_jwt", "none")
# Algorithms a client may sign its private_key_jwt assertion with.
ASSERTION_ALGORITHMS = ["RS256", "PS256", "ES256"]
MIN_SECRET_LENGTH = 32
CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9._~-]{3,64}$")


def new_client_id() -> str:
    return f"cli_{uuid.uuid4().hex[:16]}"


def new_client_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_secret(secret: str) -> str:
    # Secrets are long random strings (MIN_SECRET_LENGTH), so a fast hash is enough, and keeps the
    # token endpoint cheap; a slow KDF here would only hand attackers a denial of service.
    return "sha256$" + hashlib.sha256(secret.encode()).hexdigest()


def verify_secret(stored: str | None, secret: str) -> bool:
    if not stored or not stored.startswith("sha256$"):
        return False
    return hmac.compare_digest(stored, hash_secret(secret))


def hash_code(code: str) -> str:
    """Codes are stored by hash: a database reader cannot redeem them."""
    return hashlib.sha256(code.encode()).hexdigest()


def grant_types_for(auth_method: str, redirect_uris: list[str]) -> list[str]:
    """A client with redirect URIs is a web client: it signs officers in and gets their tokens. A
    confidential client without them is an institution's system: it gets tokens of its own."""
    if redirect_uris:
        return ["authorization_code"]
    if auth_method == "none":
        return []
    return ["client_credentials"]


def check_redirect_uri(uri: str) -> None:
    parts = urlsplit(uri)
    loopback_http = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not loopback_http:
        raise ValueError(f"redirect_uri {uri!r}: https, or http on a loopback host")
    if parts.fragment or not parts.hostname:
        raise ValueError(f"redirect_uri {uri!r}: an absolute URL without fragment")


def check_client_jwks(jwks: Any) -> dict[str, Any]:
    """The client's public keys for private_key_jwt; private key material is refused, not stored."""
    if not isinstance(jwks, dict) or not jwks.get("keys"):
        raise ValueError("jwks: a JWK Set with at least one key is required for private_key_jwt")
    try:
        key_set = KeySet.import_key_set(jwks)
    except (JoseError, ValueError, TypeError, KeyError) as exc:
        raise ValueError(f"jwks: not a valid JWK Set ({exc})") from None
    if any(key.key_type == "oct" for key in key_set.keys):
        raise ValueError("jwks: symmetric keys are not accepted")
    if any(key.is_private for key in key_set.keys):
        raise ValueError("jwks: contains private key material; register the public keys only")
    return {"keys": [key.as_dict(private=False) | ({"kid": key.kid} if key.kid else {})
                     for key in key_set.keys]}


def check_scopes(scopes: list[str]) -> list[str]:
    if unknown := unknown_scopes(set(scopes)):
        raise ValueError(f"unknown scopes: {', '.join(sorted(unknown))}")
    return sorted(set(scopes))


def check_client_registration(*, auth_method: str, scopes: list[str], jwks: dict[str, Any] | None,
                              client_id: str | None, client_secret: str | None,
                              redirect_uris: list[str]) -> None:
    if auth_method not in AUTH_METHODS:
        raise ValueError(f"auth_method: one of {', '.join(AUTH_METHODS)}")
    check_scopes(scopes)
    if client_id is not None and not CLIENT_ID_PATTERN.match(client_id):
        raise ValueError("client_id: 3 to 64 letters, digits or . _ ~ -")
    for uri in redirect_uris:
        check_redirect_uri(uri)
    if auth_method == "none" and not redirect_uris:
        raise ValueError("a public client (auth_method none) needs redirect_uris")
    if auth_method in SECRET_METHODS:
        if client_secret is not None and len(client_secret) < MIN_SECRET_LENGTH:
            raise ValueError(f"client_secret: at least {MIN_SECRET_LENGTH} characters")
    elif client_secret is not None:
        raise ValueError(f"client_secret: not used with {auth_method}")
    if auth_method == "private_key_jwt":
        check_client_jwks(jwks)
    elif jwks is not None:
        raise ValueError(f"jwks: only used with private_key_jwt, not {auth_method}")


def allowed_scope(requested: list[str] | None, granted: list[str] | tuple[str, ...]) -> str | None:
    """Scopes a client may have among those requested: all it was granted when it asks for none;
    None when it asked for scopes and none of them is granted."""
    if not requested:
        return " ".join(sorted(granted))
    allowed = sorted(set(requested) & set(granted))
    return " ".join(allowed) if allowed else None
