"""NATS decentralised auth written by ``comitas_shared.nats_auth`` (ADR 0033), checked by nats-server
itself: the operator bundle starts a server in operator mode with a full resolver; the services' user
(PLATFORM) connects, runs JetStream and the shared ``NatsHandle``; account JWTs pushed through the system
account take effect without a restart; the server refuses what it must (an account signed by another
operator, a tampered JWT, an expired user, a revoked user)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import nats
import nkeys
import pytest

from comitas_shared import nats_auth
from comitas_shared.events.nats import NatsHandle
from comitas_shared.nats_auth import jwt as nats_jwt
from comitas_shared.nats_auth.keys import derived_key, from_seed, new_key
from comitas_shared.settings import ServiceSettings
from comitas_shared.testing import NatsServer

pytestmark = pytest.mark.timeout(120)


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class OperatorNats:
    bundle: nats_auth.OperatorBundle
    server: NatsServer
    tmp: Path


@pytest.fixture(scope="module")
def operator_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorNats]:
    tmp = tmp_path_factory.mktemp("nats-auth")
    bundle = nats_auth.create(tmp / "auth", now=datetime.now(UTC))
    server = NatsServer(store_dir=tmp / "store", config_file=bundle.resolver_config).start()
    yield OperatorNats(bundle, server, tmp)
    server.stop()


def test_the_encoding_is_nats_io_jwt_v2() -> None:
    account, signer = new_key("account"), new_key("operator")
    now = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    token = nats_jwt.encode(nats_jwt.account_claims(account.public_key, nats_jwt.AccountSpec(name="A"), issued_at=now),
                            signer)
    header, claims, signature = token.split(".")
    assert "=" not in token
    assert json.loads(_unb64(header)) == {"typ": "JWT", "alg": "ed25519-nkey"}
    body = json.loads(_unb64(claims))
    assert body["iss"] == signer.public_key and body["sub"] == account.public_key and body["iat"] == int(now.timestamp())
    assert body["nats"]["type"] == "account" and body["nats"]["version"] == 2
    # A limit left out would mean 0, and conn 0 means no connection at all.
    assert body["nats"]["limits"]["conn"] == -1
    # jti: base32 of SHA-512/256 of the claims without it.
    without = {k: v for k, v in body.items() if k != "jti"}
    digest = hashlib.new("sha512_256", json.dumps(without, separators=(",", ":")).encode()).digest()
    assert body["jti"] == base64.b32encode(digest).rstrip(b"=").decode()
    # The signature is the issuer's ed25519 signature over header.claims.
    verifier = nkeys.from_seed(signer.seed.encode())
    assert verifier.verify(f"{header}.{claims}".encode(), _unb64(signature))


def test_keys_say_their_role_and_derived_keys_are_stable() -> None:
    assert new_key("operator").public_key.startswith("O")
    assert new_key("account").public_key.startswith("A")
    user = new_key("user")
    assert user.public_key.startswith("U") and user.seed.startswith("SU") and from_seed(user.seed) == user
    one = derived_key(b"secret", purpose="institution x", role="account")
    assert one == derived_key(b"secret", purpose="institution x", role="account")
    assert one != derived_key(b"secret", purpose="institution y", role="account")
    assert one != derived_key(b"other secret", purpose="institution x", role="account")


def test_the_bundle_is_made_once_and_its_secrets_are_private(tmp_path: Path) -> None:
    first = nats_auth.create(tmp_path / "auth", now=datetime.now(UTC))
    again = nats_auth.create(tmp_path / "auth", now=datetime.now(UTC))
    assert again.operator_public_key == first.operator_public_key
    assert again.platform_account == first.platform_account
    for name in ("operator.seed", "operator-signing.seed", "platform-account.seed", "sys.creds", "platform.creds"):
        mode = stat.S_IMODE(os.stat(tmp_path / "auth" / name).st_mode)
        assert mode == 0o600, (name, oct(mode))
    config = first.resolver_config.read_text()
    assert "type: full" in config and f"system_account: {first.system_account}" in config
    assert "allow_delete: false" in config
    # The operator JWT names its signing key and the system account; accounts are signed by the former.
    operator = nats_jwt.decode_unverified(first.operator_jwt)
    assert operator["nats"]["signing_keys"] == [first.signing_key.public_key]
    assert operator["nats"]["system_account"] == first.system_account
    assert nats_jwt.decode_unverified(first.platform_account_jwt)["iss"] == first.signing_key.public_key


async def test_the_platform_user_runs_jetstream_through_the_shared_handle(operator_nats: OperatorNats) -> None:
    settings = ServiceSettings(nats_url=operator_nats.server.url,
                               nats_credentials=str(operator_nats.bundle.platform_credentials))
    handle = NatsHandle(settings.nats_url, name="nats-auth-test", credentials=settings.nats_credentials)
    await handle.start(wait=10)
    try:
        await handle.wait_ready(timeout=20)
        ack = await handle.js.publish("events.test.happened", b"{}", headers={"Nats-Msg-Id": "one"})
        assert ack.stream == "EVENTS"
    finally:
        await handle.close()
    # Without credentials the server admits nobody.
    with pytest.raises(Exception):  # noqa: B017 - nats-py's own error types
        await nats.connect(operator_nats.server.url, allow_reconnect=False, max_reconnect_attempts=0, connect_timeout=3)


async def test_an_account_pushed_at_run_time_admits_its_users_at_once(operator_nats: OperatorNats) -> None:
    bundle, url = operator_nats.bundle, operator_nats.server.url
    account = nats_auth.institution_account(bundle, "inst-run-time")
    creds_text, _ = nats_auth.feed_user_creds(account, "inst-run-time", name="t", now=datetime.now(UTC),
                                              expires_at=datetime.now(UTC) + timedelta(hours=1))
    creds = operator_nats.tmp / "run-time.creds"
    creds.write_text(creds_text)
    with pytest.raises(Exception):  # noqa: B017 - unknown account: authorization violation
        await nats.connect(url, user_credentials=str(creds), allow_reconnect=False, max_reconnect_attempts=0)
    await nats_auth.push_account_jwt(url, bundle.system_credentials, nats_auth.institution_account_jwt(
        bundle, "inst-run-time", account, active=True, now=datetime.now(UTC)))
    nc = await nats.connect(url, user_credentials=str(creds), allow_reconnect=False, max_reconnect_attempts=0)
    assert nc.is_connected
    await nc.close()


async def test_the_server_refuses_what_it_must(operator_nats: OperatorNats) -> None:
    bundle, url = operator_nats.bundle, operator_nats.server.url
    now = datetime.now(UTC)
    account = nats_auth.institution_account(bundle, "inst-refusals")

    async def connects(creds_text: str) -> bool:
        path = operator_nats.tmp / "refusal.creds"
        path.write_text(creds_text)
        try:
            nc = await nats.connect(url, user_credentials=str(path), allow_reconnect=False, max_reconnect_attempts=0,
                                    connect_timeout=3)
        except Exception:  # noqa: BLE001 - nats-py's own error types
            return False
        await nc.close()
        return True

    user, _ = nats_auth.feed_user_creds(account, "inst-refusals", name="u", now=now - timedelta(minutes=5),
                                        expires_at=None)
    with pytest.raises(nats_auth.ClaimsRefused):
        await nats_auth.push_account_jwt(url, bundle.system_credentials, "not.a-jwt.at-all")
    # An account signed by a key the operator does not list: nats-server files it, but trusts nobody by it.
    stranger = new_key("operator")
    foreign = nats_jwt.encode(nats_jwt.account_claims(account.public_key, nats_jwt.AccountSpec(name="x"),
                                                      issued_at=now), stranger)
    with contextlib.suppress(nats_auth.ClaimsRefused):
        await nats_auth.push_account_jwt(url, bundle.system_credentials, foreign)
    assert not await connects(user)
    # A genuine JWT whose claims were changed after signing (an import widened to events.>): the same.
    genuine = nats_auth.institution_account_jwt(bundle, "inst-refusals", account, active=True, now=now)
    header, claims, signature = genuine.split(".")
    changed = json.loads(_unb64(claims))
    changed["nats"]["imports"][0]["subject"] = "events.>"
    forged = ".".join([header, base64.urlsafe_b64encode(json.dumps(changed).encode()).rstrip(b"=").decode(),
                       signature])
    with contextlib.suppress(nats_auth.ClaimsRefused):
        await nats_auth.push_account_jwt(url, bundle.system_credentials, forged)
    assert not await connects(user)
    await nats_auth.push_account_jwt(url, bundle.system_credentials, genuine)
    assert await connects(user)

    expired, _ = nats_auth.feed_user_creds(account, "inst-refusals", name="old", now=now - timedelta(days=2),
                                           expires_at=now - timedelta(days=1))
    assert not await connects(expired)
    # Every user issued up to a minute ago revoked: the old one is refused, a new one admitted.
    await nats_auth.push_account_jwt(url, bundle.system_credentials, nats_auth.institution_account_jwt(
        bundle, "inst-refusals", account, active=True, now=now + timedelta(seconds=1),
        revoke_users_before=now - timedelta(minutes=1)))
    await asyncio.sleep(0.2)
    assert not await connects(user)
    fresh, _ = nats_auth.feed_user_creds(account, "inst-refusals", name="after", now=now, expires_at=None)
    assert await connects(fresh)
