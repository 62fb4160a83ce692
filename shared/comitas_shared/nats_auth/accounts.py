"""An institution's NATS account: its key, its JWT (importing only its own feed from PLATFORM), the
credentials of its subscribers, and the push of the JWT to running servers (ADR 0033).

The account's key is derived from the operator signing key, the institution id and a key version, so
every replica of notifications computes the same account without storing or sharing a secret of its
own, and an institution's account survives restarts. Bumping the version re-keys every account."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import nats
from nats.aio.client import Client

from . import jwt
from .bundle import OperatorBundle
from .keys import KeyPair, derived_key, new_key
from .platform import ack_subjects, deliver_subject

CLAIMS_UPDATE = "$SYS.REQ.CLAIMS.UPDATE"


class ClaimsRefused(RuntimeError):
    """nats-server would not take an account JWT (bad signature, older than the one it holds…)."""


def institution_account(bundle: OperatorBundle, institution_id: str, *, key_version: int = 1) -> KeyPair:
    return derived_key(bundle.signing_key.seed.encode(), role="account",
                       purpose=f"comitas institution account {key_version} {institution_id}")


def institution_account_jwt(bundle: OperatorBundle, institution_id: str, account: KeyPair, *, active: bool,
                            now: datetime, revoke_users_before: datetime | None = None) -> str:
    """Imports the institution's own delivery subject and the acknowledgement subjects of its own
    durable consumer, each with an activation token PLATFORM signs for this account alone. An inactive
    institution's account admits no connection."""
    platform = bundle.platform_account

    def activation(subject: str, kind: jwt.ExportType) -> str:
        return jwt.encode(jwt.activation_claims(account.public_key, name=subject, subject=subject, kind=kind,
                                                issued_at=now), platform)

    deliveries, acks = deliver_subject(institution_id), ack_subjects(institution_id)
    spec = jwt.AccountSpec(
        name=f"INST_{institution_id}",
        imports=(jwt.Import(name="feed", subject=deliveries, account=platform.public_key, type="stream",
                            token=activation(deliveries, "stream")),
                 jwt.Import(name="feed acknowledgements", subject=acks, account=platform.public_key, type="service",
                            token=activation(acks, "service"))),
        limits=jwt.AccountLimits(connections=jwt.NO_LIMIT if active else 0),
        revoke_users_before=revoke_users_before)
    return jwt.encode(jwt.account_claims(account.public_key, spec, issued_at=now), bundle.signing_key)


def feed_user_permissions(institution_id: str) -> jwt.Permissions:
    """Read the delivery subject, acknowledge on the consumer's subjects, nothing else (``_INBOX`` for
    clients that wait for the server to confirm an acknowledgement)."""
    return jwt.Permissions(publish=(ack_subjects(institution_id),),
                           subscribe=(deliver_subject(institution_id), "_INBOX.>"))


def feed_user_creds(account: KeyPair, institution_id: str, *, name: str, now: datetime,
                    expires_at: datetime | None, permissions: jwt.Permissions | None = None) -> tuple[str, str]:
    """A new subscriber of the institution's feed: its ``.creds`` text and its public key. The seed
    exists only in the returned text."""
    user = new_key("user")
    token = jwt.encode(jwt.user_claims(user.public_key, name=name,
                                       permissions=permissions or feed_user_permissions(institution_id),
                                       issued_at=now, expires_at=expires_at), account)
    return jwt.creds_file(token, user.seed), user.public_key


async def push_claims(client: Client, account_jwt: str, *, timeout: float = 5.0) -> None:
    """Sends an account JWT to the servers over ``client``, a connection of the system account; with the
    full resolver every server of the cluster takes it without a restart. Raises :class:`ClaimsRefused`
    if refused."""
    reply = await client.request(CLAIMS_UPDATE, account_jwt.encode(), timeout=timeout)
    answer = json.loads(reply.data or b"{}")
    if "error" in answer:
        raise ClaimsRefused(str(answer["error"].get("description", answer["error"])))


async def push_account_jwt(url: str, system_credentials: Path | str, account_jwt: str, *,
                           timeout: float = 5.0) -> None:
    """:func:`push_claims` over a connection of its own, made with the system account's credentials."""
    nc = await nats.connect(url, user_credentials=str(system_credentials), connect_timeout=timeout,
                            allow_reconnect=False, max_reconnect_attempts=0)
    try:
        await push_claims(nc, account_jwt, timeout=timeout)
    finally:
        await nc.close()
