"""The operator's material, kept in one directory (``var/nats-auth`` in development, a Kubernetes
secret in production): the operator JWT, the operator signing key that signs account JWTs, the system
account and the PLATFORM account with a user each (``sys.creds``, ``platform.creds``), and the server
configuration (``resolver.conf``) that nats-server includes.

``create`` makes it once and is idempotent (an existing bundle is loaded, never replaced: replacing
the operator would lock every institution out). Files holding seeds are written owner-only."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from . import jwt
from .keys import KeyPair, from_seed, new_key
from .platform import PLATFORM_EXPORTS

OPERATOR_NAME = "comitas"
SYSTEM_ACCOUNT_NAME = "SYS"
PLATFORM_ACCOUNT_NAME = "PLATFORM"
RESOLVER_CONF = "resolver.conf"


@dataclass(frozen=True)
class OperatorBundle:
    directory: Path
    operator_public_key: str
    operator_jwt: str
    # Signs institutions' account JWTs; the operator's own key is needed only to re-sign the operator.
    signing_key: KeyPair
    system_account: str
    system_account_jwt: str
    platform_account: KeyPair
    platform_account_jwt: str

    @property
    def system_credentials(self) -> Path:
        return self.directory / "sys.creds"

    @property
    def platform_credentials(self) -> Path:
        return self.directory / "platform.creds"

    @property
    def resolver_config(self) -> Path:
        return self.directory / RESOLVER_CONF


def _write(path: Path, text: str, *, secret: bool) -> None:
    path.write_text(text)
    if secret:
        os.chmod(path, 0o600)


def _user_creds(account: KeyPair, name: str, now: datetime) -> str:
    user = new_key("user")
    token = jwt.encode(jwt.user_claims(user.public_key, name=name, permissions=None, issued_at=now,
                                       expires_at=None), account)
    return jwt.creds_file(token, user.seed)


def platform_account_jwt(platform: KeyPair, signing_key: KeyPair, now: datetime) -> str:
    spec = jwt.AccountSpec(name=PLATFORM_ACCOUNT_NAME, exports=PLATFORM_EXPORTS,
                           limits=jwt.AccountLimits(jetstream=True))
    return jwt.encode(jwt.account_claims(platform.public_key, spec, issued_at=now), signing_key)


def create(directory: Path, *, now: datetime, resolver_dir: Path | None = None) -> OperatorBundle:
    """The bundle in ``directory``, made on first use. ``resolver_dir`` is where nats-server keeps the
    account JWTs it is sent (default: ``<directory>/jwt``)."""
    if (directory / "bundle.json").exists():
        return load(directory)
    directory.mkdir(parents=True, exist_ok=True)
    os.chmod(directory, 0o700)
    operator, signing, system, platform = new_key("operator"), new_key("operator"), new_key("account"), \
        new_key("account")
    operator_jwt = jwt.encode(jwt.operator_claims(operator, name=OPERATOR_NAME, signing_keys=[signing.public_key],
                                                  system_account=system.public_key, issued_at=now), operator)
    system_jwt = jwt.encode(jwt.account_claims(system.public_key, jwt.AccountSpec(name=SYSTEM_ACCOUNT_NAME),
                                               issued_at=now), signing)
    platform_jwt = platform_account_jwt(platform, signing, now)
    _write(directory / "operator.seed", operator.seed + "\n", secret=True)
    _write(directory / "operator-signing.seed", signing.seed + "\n", secret=True)
    _write(directory / "platform-account.seed", platform.seed + "\n", secret=True)
    _write(directory / "sys.creds", _user_creds(system, "comitas-system", now), secret=True)
    _write(directory / "platform.creds", _user_creds(platform, "comitas-services", now), secret=True)
    _write(directory / "bundle.json", json.dumps({
        "operator": operator.public_key, "operator_jwt": operator_jwt, "system_account": system.public_key,
        "system_account_jwt": system_jwt, "platform_account": platform.public_key,
        "platform_account_jwt": platform_jwt}, indent=2) + "\n", secret=False)
    bundle = load(directory)
    write_server_config(bundle, resolver_dir or directory / "jwt")
    return bundle


def load(directory: Path) -> OperatorBundle:
    public = json.loads((directory / "bundle.json").read_text())
    return OperatorBundle(
        directory=directory, operator_public_key=public["operator"], operator_jwt=public["operator_jwt"],
        signing_key=from_seed((directory / "operator-signing.seed").read_text()),
        system_account=public["system_account"], system_account_jwt=public["system_account_jwt"],
        platform_account=from_seed((directory / "platform-account.seed").read_text()),
        platform_account_jwt=public["platform_account_jwt"])


def server_config(bundle: OperatorBundle, resolver_dir: Path | str) -> str:
    """The nats-server configuration of operator mode: every server of a cluster includes the same."""
    return (
        "# Written by comitas_shared.nats_auth (ADR 0033): operator mode, a full resolver.\n"
        f"operator: {bundle.operator_jwt}\n"
        f"system_account: {bundle.system_account}\n"
        "resolver: {\n"
        "  type: full\n"
        f"  dir: {json.dumps(str(resolver_dir))}\n"
        # Institutions' accounts are never deleted by a push: a deactivated one is re-issued without
        # connections instead, so an old JWT replayed cannot bring it back.
        "  allow_delete: false\n"
        "  interval: \"2m\"\n"
        "  timeout: \"5s\"\n"
        "}\n"
        "resolver_preload: {\n"
        f"  {bundle.system_account}: {bundle.system_account_jwt}\n"
        f"  {bundle.platform_account.public_key}: {bundle.platform_account_jwt}\n"
        "}\n"
    )


def write_server_config(bundle: OperatorBundle, resolver_dir: Path | str) -> Path:
    _write(bundle.resolver_config, server_config(bundle, resolver_dir), secret=False)
    return bundle.resolver_config
