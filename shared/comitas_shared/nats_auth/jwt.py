"""NATS JWTs (the v2 format of nats-io/jwt), written here rather than by ``nsc``: the encoding is small.

A JWT is ``base64url(header).base64url(claims).base64url(signature)``, unpadded; the header is
``{"typ":"JWT","alg":"ed25519-nkey"}``; the signature is the issuer nkey's ed25519 signature over the
first two parts; ``iss`` is the signer's public key, ``sub`` the subject's, and ``jti`` the unpadded
base32 of the SHA-512/256 of the claims without ``jti``. (nats-io/jwt hashes only the registered claims,
``iss``/``sub``/``iat``…, so two JWTs that differ in their ``nats`` part share an id there; we hash all of
them. The server reads ``jti`` as an opaque id and does not recompute it.) The builders below fill in the
``nats`` object of each claim type with the defaults nats-io/jwt's constructors set (a limit left out
means 0, which for ``conn`` means no connection at all, so every limit is written out)."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from .keys import KeyPair

HEADER = {"typ": "JWT", "alg": "ed25519-nkey"}
NO_LIMIT = -1

ExportType = Literal["stream", "service"]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def claims_id(claims: Mapping[str, Any]) -> str:
    body = {**claims, "jti": ""}
    body.pop("jti")
    digest = hashlib.new("sha512_256", _json(body)).digest()
    return base64.b32encode(digest).rstrip(b"=").decode()


def encode(claims: Mapping[str, Any], signer: KeyPair) -> str:
    """Signs ``claims`` (which must hold ``sub``, ``iat`` and ``nats``) with ``signer``, its issuer."""
    body = dict(claims)
    body["iss"] = signer.public_key
    body["jti"] = claims_id(body)
    signing_input = f"{_b64(_json(HEADER))}.{_b64(_json(body))}"
    return f"{signing_input}.{_b64(signer.sign(signing_input.encode()))}"


def decode_unverified(token: str) -> dict[str, Any]:
    """The claims of a JWT, for reading what was issued (tests, reports); verification is the server's."""
    claims: dict[str, Any] = json.loads(_unb64(token.split(".")[1]))
    return claims


def _base(subject: str, name: str, issued_at: datetime, expires_at: datetime | None) -> dict[str, Any]:
    claims: dict[str, Any] = {"name": name, "sub": subject, "iat": int(issued_at.timestamp())}
    if expires_at is not None:
        claims["exp"] = int(expires_at.timestamp())
    return claims


def operator_claims(operator: KeyPair, *, name: str, signing_keys: Sequence[str], system_account: str,
                    issued_at: datetime) -> dict[str, Any]:
    claims = _base(operator.public_key, name, issued_at, None)
    claims["nats"] = {"type": "operator", "version": 2, "signing_keys": list(signing_keys),
                      "system_account": system_account}
    return claims


@dataclass(frozen=True)
class Export:
    name: str
    subject: str
    type: ExportType
    token_required: bool = True
    # A service's answers: one per request (an acknowledgement).
    response_type: Literal["Singleton", "Stream"] | None = None

    def claim(self) -> dict[str, Any]:
        value: dict[str, Any] = {"name": self.name, "subject": self.subject, "type": self.type}
        if self.token_required:
            value["token_req"] = True
        if self.response_type:
            value["response_type"] = self.response_type
        return value


@dataclass(frozen=True)
class Import:
    name: str
    subject: str
    account: str
    type: ExportType
    token: str | None = None

    def claim(self) -> dict[str, Any]:
        value: dict[str, Any] = {"name": self.name, "subject": self.subject, "account": self.account,
                                 "type": self.type}
        if self.token:
            value["token"] = self.token
        return value


@dataclass(frozen=True)
class AccountLimits:
    connections: int = NO_LIMIT
    # JetStream: off (0) unless the account holds streams of its own.
    jetstream: bool = False

    def claim(self) -> dict[str, Any]:
        limits: dict[str, Any] = {"subs": NO_LIMIT, "data": NO_LIMIT, "payload": NO_LIMIT, "imports": NO_LIMIT,
                                  "exports": NO_LIMIT, "wildcards": True, "conn": self.connections,
                                  "leaf": NO_LIMIT}
        if self.jetstream:
            limits |= {"mem_storage": NO_LIMIT, "disk_storage": NO_LIMIT, "streams": NO_LIMIT,
                       "consumer": NO_LIMIT}
        return limits


@dataclass(frozen=True)
class Permissions:
    publish: tuple[str, ...] = ()
    subscribe: tuple[str, ...] = ()

    def claim(self) -> dict[str, Any]:
        def permission(allow: tuple[str, ...]) -> dict[str, Any]:
            return {"allow": list(allow)} if allow else {}

        return {"pub": permission(self.publish), "sub": permission(self.subscribe)}


@dataclass(frozen=True)
class AccountSpec:
    name: str
    exports: tuple[Export, ...] = ()
    imports: tuple[Import, ...] = ()
    limits: AccountLimits = field(default_factory=AccountLimits)
    # Users issued before this instant may no longer connect (``"*"`` in the revocation list).
    revoke_users_before: datetime | None = None


def account_claims(account_public_key: str, spec: AccountSpec, *, issued_at: datetime) -> dict[str, Any]:
    claims = _base(account_public_key, spec.name, issued_at, None)
    nats: dict[str, Any] = {"type": "account", "version": 2, "limits": spec.limits.claim(),
                            "default_permissions": {"pub": {}, "sub": {}}}
    if spec.exports:
        nats["exports"] = [export.claim() for export in spec.exports]
    if spec.imports:
        nats["imports"] = [imported.claim() for imported in spec.imports]
    if spec.revoke_users_before is not None:
        nats["revocations"] = {"*": int(spec.revoke_users_before.timestamp())}
    claims["nats"] = nats
    return claims


def user_claims(user_public_key: str, *, name: str, permissions: Permissions | None, issued_at: datetime,
                expires_at: datetime | None) -> dict[str, Any]:
    """A user of an account, signed by the account's own key."""
    claims = _base(user_public_key, name, issued_at, expires_at)
    nats: dict[str, Any] = {"type": "user", "version": 2, "subs": NO_LIMIT, "data": NO_LIMIT,
                            "payload": NO_LIMIT}
    if permissions is not None:
        nats |= permissions.claim()
    claims["nats"] = nats
    return claims


def activation_claims(importer_account: str, *, name: str, subject: str, kind: ExportType,
                      issued_at: datetime) -> dict[str, Any]:
    """The exporting account's permission for ``importer_account`` to import ``subject`` (a private export)."""
    claims = _base(importer_account, name, issued_at, None)
    claims["nats"] = {"type": "activation", "version": 2, "subject": subject, "kind": kind}
    return claims


def creds_file(user_jwt: str, user_seed: str) -> str:
    """The ``.creds`` text nats clients read (nats-py ``user_credentials=``, ``nats --creds``)."""
    return (
        "-----BEGIN NATS USER JWT-----\n"
        f"{user_jwt}\n"
        "------END NATS USER JWT------\n\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n"
        "NKEYs are sensitive and should be treated as secrets.\n\n"
        "-----BEGIN USER NKEY SEED-----\n"
        f"{user_seed}\n"
        "------END USER NKEY SEED------\n\n"
        "*************************************************************\n"
    )
