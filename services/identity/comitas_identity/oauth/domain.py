"""Rules about clients, secrets, scopes and codes. No I/O."""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, cast
from urllib.parse import urlsplit

from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from comitas_shared import randomness, token_exchange
from comitas_shared.scopes import unknown_scopes

SECRET_METHODS = ("client_secret_basic", "client_secret_post")
AUTH_METHODS = (*SECRET_METHODS, "private_key_jwt", "none")
# Algorithms a client may sign its private_key_jwt assertion with.
ASSERTION_ALGORITHMS = ["RS256", "PS256", "ES256"]
MIN_SECRET_LENGTH = 32
CLIENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9._~-]{3,64}$")
# OpenID Connect's scopes: they ask for the signed-in officer's identity, not for access to a service,
# so they are not in the platform's catalogue and need no grant.
OIDC_SCOPES = frozenset({"openid", "profile", "email"})
# OAuth 2.0 Token Exchange (RFC 8693), as the services' client side sends it.
TOKEN_EXCHANGE = token_exchange.GRANT_TYPE
ACCESS_TOKEN_TYPE = token_exchange.ACCESS_TOKEN_TYPE
REFRESH_TOKEN = "refresh_token"
# Never granted on anyone's behalf, whatever a service client is allowed.
NEVER_EXCHANGED = frozenset({"admin"})
# Claims an exchanged token keeps from its subject token: whose authority it carries.
SUBJECT_CLAIMS = ("sub", "client_id", "institution_id", "institution_kind")
# A chain of services acting for one another stays short: the act claim nests at most this deep.
MAX_ACTORS = 4


class UnknownResource(ValueError):
    """A resource indicator (RFC 8707) this server does not issue tokens for, or not one the grant
    allows."""


def new_client_id() -> str:
    return f"cli_{randomness.token_bytes(8).hex()}"


def new_client_secret() -> str:
    return randomness.token_urlsafe(32)


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


def hash_refresh_token(token: str) -> str:
    """Refresh tokens are stored by hash, as codes are; they are 256 random bits, so a fast hash is enough."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_refresh_token() -> str:
    return randomness.token_urlsafe(32)


def refresh_token_expiry(*, now: int, lifetime: int, family_expires_at: int) -> int:
    """A refresh token lives ``lifetime`` unused, never past its family's absolute end."""
    return min(now + lifetime, family_expires_at)


def refreshed_scope(*, requested: list[str] | None, granted: str, officer_scopes: Collection[str]) -> str | None:
    """The scope of an access token bought with a refresh token: what was asked (all that was granted at
    sign-in when nothing is), never more than was granted (RFC 6749 §6), and only what the officer still
    holds (OpenID Connect's scopes need no grant). None when a scope asked for was never granted."""
    held = set(granted.split())
    wanted = set(requested) if requested else held
    if not wanted <= held:
        return None
    kept = sorted((wanted & set(officer_scopes)) | (wanted & OIDC_SCOPES))
    return " ".join(kept)


def grant_types_for(auth_method: str, redirect_uris: list[str], *, token_exchange: bool = False,
                    refresh_tokens: bool = True) -> list[str]:
    """A client with redirect URIs is a web client: it signs officers in and gets their tokens, and, when
    confidential, refresh tokens (unless ``refresh_tokens`` is off): a public client could not keep one
    safe. A confidential client without them is an institution's system: it gets tokens of its own
    (never a refresh token: it can always ask again); a platform service's client may also exchange the
    tokens it is called with (RFC 8693)."""
    if redirect_uris:
        confidential = auth_method != "none"
        return ["authorization_code", REFRESH_TOKEN] if confidential and refresh_tokens else ["authorization_code"]
    if auth_method == "none":
        return []
    return ["client_credentials", TOKEN_EXCHANGE] if token_exchange else ["client_credentials"]


def check_redirect_uri(uri: str) -> None:
    parts = urlsplit(uri)
    loopback_http = parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")
    if parts.scheme != "https" and not loopback_http:
        raise ValueError(f"redirect_uri {uri!r}: https, or http on a loopback host")
    if parts.fragment or not parts.hostname:
        raise ValueError(f"redirect_uri {uri!r}: an absolute URL without fragment")


def check_post_logout_redirect_uri(uri: str) -> None:
    try:
        check_redirect_uri(uri)
    except ValueError:
        raise ValueError(f"post_logout_redirect_uri {uri!r}: https, or http on a loopback host, "
                         "an absolute URL without fragment") from None


def check_client_jwks(jwks: Any) -> dict[str, Any]:
    """The client's public keys for private_key_jwt; private key material is refused, not stored."""
    if not isinstance(jwks, dict) or not jwks.get("keys"):
        raise ValueError("jwks: a JWK Set with at least one key is required for private_key_jwt")
    try:
        key_set = KeySet.import_key_set(cast(Any, jwks))
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


def _absolute_uri(value: str) -> bool:
    parts = urlsplit(value)
    return bool(parts.scheme) and bool(parts.netloc or parts.path) and not parts.fragment and len(value) <= 200


@dataclass(frozen=True)
class ExchangePolicy:
    """What a platform service's client may do with token exchange: ``service_resource`` is the service
    it is (a subject token must have been addressed to it), ``resources`` where the new token may go,
    ``scopes`` the most it may carry, whatever the subject token has."""

    service_resource: str
    resources: tuple[str, ...]
    scopes: tuple[str, ...]


def check_exchange_policy(*, service_resource: str | None, resources: Collection[str] | None,
                          scopes: Collection[str] | None) -> ExchangePolicy | None:
    """The policy normalised, None when the client may not exchange tokens, or ValueError."""
    if service_resource is None and not resources and not scopes:
        return None
    if not service_resource or not _absolute_uri(service_resource):
        raise ValueError("service_resource: the resource identifier (absolute URI) of the service the client is")
    if not resources or not all(_absolute_uri(r) for r in resources):
        raise ValueError("exchange_resources: at least one resource identifier (absolute URI)")
    if not scopes:
        raise ValueError("exchange_scopes: at least one scope it may ask for on an institution's behalf")
    if unknown := unknown_scopes(set(scopes)):
        raise ValueError(f"exchange_scopes: unknown scopes {', '.join(sorted(unknown))}")
    if refused := sorted(set(scopes) & NEVER_EXCHANGED):
        raise ValueError(f"exchange_scopes: {', '.join(refused)} is never granted on anyone's behalf")
    return ExchangePolicy(service_resource=service_resource, resources=tuple(sorted(set(resources))),
                          scopes=tuple(sorted(set(scopes))))


class ExchangeRefused(ValueError):
    """A token exchange that cannot be granted, with its RFC 8693 §2.2.2 error code."""

    def __init__(self, error: str, description: str) -> None:
        super().__init__(description)
        self.error = error


@dataclass(frozen=True)
class Exchange:
    """What an exchange grants: the new token's claims but its iat, nbf and jti."""

    audience: tuple[str, ...]
    scope: str
    expires_at: int
    claims: dict[str, Any]


def decide_exchange(*, subject: Mapping[str, Any], actor: str, policy: ExchangePolicy, requested_resources: list[str],
                    requested_scopes: list[str], known_resources: Collection[str], legacy_audience: str | None,
                    now: int, lifetime: int) -> Exchange:
    """RFC 8693 for a service acting on an institution's behalf. ``subject`` is the verified, unexpired,
    unrevoked subject token's claims. The subject token must have been addressed to the acting service
    (``policy.service_resource``; or the legacy audience, where it still means every service): a token
    given to another service is not the actor's to use. The resources must be known and allowed to the
    actor; the scopes must be held by the subject token and allowed to the actor. The new token keeps
    the subject's ``sub``, ``client_id`` and ``institution_id``, expires no later than the subject
    token, and names the actor in ``act`` (the previous actors nested inside)."""
    audience = subject.get("aud")
    audiences = {a for a in (audience if isinstance(audience, list) else [audience]) if isinstance(a, str)}
    if policy.service_resource not in audiences and (legacy_audience is None or legacy_audience not in audiences):
        raise ExchangeRefused("invalid_request", "The subject_token is not addressed to the acting service.")
    if not all(isinstance(subject.get(name), str) for name in SUBJECT_CLAIMS):
        raise ExchangeRefused("invalid_request", "The subject_token does not stand for an institution.")
    previous = subject.get("act")
    if previous is not None and not isinstance(previous, dict):
        raise ExchangeRefused("invalid_request", "The subject_token's act claim is malformed.")
    if _actor_depth(previous) >= MAX_ACTORS:
        raise ExchangeRefused("invalid_request", "The subject_token has passed through too many services.")
    if not requested_resources:
        raise ExchangeRefused("invalid_target", "Name the service the token is for with resource (RFC 8707).")
    for resource in requested_resources:
        if resource not in known_resources:
            raise ExchangeRefused("invalid_target", f"The resource {resource!r} is not a service of this platform.")
        if resource not in policy.resources:
            raise ExchangeRefused("invalid_target", f"This client may not ask for tokens for {resource!r}.")
    if not requested_scopes:
        raise ExchangeRefused("invalid_scope", "Name the scopes the call needs: an exchanged token is narrowed.")
    held = set(str(subject.get("scope") or "").split())
    if missing := sorted(set(requested_scopes) - held):
        raise ExchangeRefused("invalid_scope", f"The subject_token does not hold: {' '.join(missing)}")
    if beyond := sorted(set(requested_scopes) - set(policy.scopes)):
        raise ExchangeRefused("invalid_scope", f"This client may not ask on anyone's behalf for: {' '.join(beyond)}")
    expires_at = min(int(subject["exp"]), now + lifetime)
    if expires_at <= now:
        raise ExchangeRefused("invalid_request", "The subject_token has expired.")
    act: dict[str, Any] = {"sub": actor}
    if previous is not None:
        act["act"] = previous
    claims = {name: subject[name] for name in SUBJECT_CLAIMS} | {"act": act}
    return Exchange(audience=tuple(sorted(set(requested_resources))), scope=" ".join(sorted(set(requested_scopes))),
                    expires_at=expires_at, claims=claims)


def _actor_depth(act: Any) -> int:
    depth = 0
    while isinstance(act, dict):
        depth += 1
        act = act.get("act")
    return depth


def check_client_registration(*, auth_method: str, scopes: list[str], jwks: dict[str, Any] | None,
                              client_id: str | None, client_secret: str | None,
                              redirect_uris: list[str],
                              post_logout_redirect_uris: Collection[str] = ()) -> None:
    if auth_method not in AUTH_METHODS:
        raise ValueError(f"auth_method: one of {', '.join(AUTH_METHODS)}")
    check_scopes(scopes)
    if client_id is not None and not CLIENT_ID_PATTERN.match(client_id):
        raise ValueError("client_id: 3 to 64 letters, digits or . _ ~ -")
    for uri in redirect_uris:
        check_redirect_uri(uri)
    if post_logout_redirect_uris and not redirect_uris:
        raise ValueError("post_logout_redirect_uris: only for web clients (with redirect_uris)")
    for uri in post_logout_redirect_uris:
        check_post_logout_redirect_uri(uri)
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


def allowed_scope(requested: list[str] | None, granted: list[str] | tuple[str, ...], *,
                  oidc: bool = False) -> str | None:
    """Scopes a client may have among those requested: all it was granted when it asks for none;
    None when it asked for scopes and none of them is granted. With ``oidc``, OpenID Connect's scopes
    are allowed as asked."""
    if not requested:
        return " ".join(sorted(granted))
    allowed = set(requested) & set(granted)
    if oidc:
        allowed |= set(requested) & OIDC_SCOPES
    return " ".join(sorted(allowed)) if allowed else None


def token_audience(requested: list[str], *, granted: tuple[str, ...] | None, known: Collection[str],
                   legacy: str | None, own: str | None) -> list[str]:
    """The ``aud`` of a token (RFC 8707): the resources requested, which must be known and, when an
    authorization already named some (``granted``), among those; else the granted ones; else the
    legacy audience when it is still issued. ``own`` (identity itself, for userinfo) is added to
    whatever is chosen. UnknownResource when nothing valid is left."""
    for resource in requested:
        if resource not in known:
            raise UnknownResource(f"The resource {resource!r} is not a service of this platform.")
        if granted is not None and resource not in granted:
            raise UnknownResource(f"The resource {resource!r} was not named in the authorization request.")
    chosen = set(requested) or set(granted or ())
    if not chosen and legacy is not None:
        chosen = {legacy}
    if own is not None:
        chosen.add(own)
    if not chosen:
        raise UnknownResource("Name the services the token is for with the resource parameter (RFC 8707).")
    return sorted(chosen)
