"""The feeds' side of NATS (ADR 0033): the FEEDS stream, one platform-owned durable push consumer per
institution, the copy of events into it, and institutions' accounts and subscribers' credentials.

Infrastructure, not a domain: what it publishes is decided by ``domain.feed_messages``; the accounts
are built by ``comitas_shared.nats_auth``. Every operation is idempotent, so any replica may run it
again (a redelivered event, a directory event seen twice, two replicas at start-up)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import nats
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)
from nats.js.errors import NotFoundError

from comitas_shared import nats_auth
from comitas_shared.clock import real_now
from comitas_shared.events.nats import DUPLICATE_WINDOW, NatsHandle, ensure_stream
from comitas_shared.nats_auth import jwt as nats_jwt
from comitas_shared.nats_auth.keys import KeyPair

from ..settings import NotificationsSettings
from .domain import FeedMessage, credentials_expiry

log = logging.getLogger(__name__)

ACCOUNT_LOOKUP = "$SYS.REQ.ACCOUNT.{}.CLAIMS.LOOKUP"


class FeedsNotConfigured(RuntimeError):
    """Feeds are off, or the operator's material is missing: no credentials can be issued."""


class InstitutionInactive(RuntimeError):
    """The institution's account admits no connection (it was deactivated in the directory)."""


@dataclass(frozen=True)
class IssuedCredentials:
    creds: str
    user_public_key: str
    account_public_key: str
    expires_at: datetime


@dataclass(frozen=True)
class ConsumerState:
    start: datetime | None
    pending: int
    ack_pending: int
    redelivered: int
    delivered: int
    acknowledged: int
    subscribed: bool


@dataclass(frozen=True)
class AccountState:
    active: bool
    users_revoked_before: datetime | None


def feeds_stream_config(*, replicas: int, retention_days: int) -> StreamConfig:
    return StreamConfig(
        name=nats_auth.FEEDS_STREAM, subjects=["feed.>"], retention=RetentionPolicy.LIMITS, storage=StorageType.FILE,
        discard=DiscardPolicy.OLD, max_age=timedelta(days=retention_days).total_seconds(),
        duplicate_window=DUPLICATE_WINDOW.total_seconds(), num_replicas=replicas)


class FeedBroker:
    def __init__(self, *, nats_handle: NatsHandle, settings: NotificationsSettings) -> None:
        self.nats = nats_handle
        self.settings = settings
        self.bundle = (nats_auth.load(Path(settings.feeds_operator_dir))
                       if settings.feeds_enabled and settings.feeds_operator_dir else None)
        # Institutions whose consumer this process knows to exist (saves a round trip per event).
        self._known_consumers: set[str] = set()

    @property
    def enabled(self) -> bool:
        return self.settings.feeds_enabled

    @property
    def issues_credentials(self) -> bool:
        return self.bundle is not None

    @property
    def public_url(self) -> str:
        return self.settings.feeds_public_nats_url or self.settings.nats_url

    def provisioner(self) -> Callable[[JetStreamContext], Awaitable[None]]:
        """For ``NatsHandle.on_ready``: the stream exists before anything publishes to it."""

        async def ensure_feeds_stream(js: JetStreamContext) -> None:
            if self.enabled:
                await ensure_stream(js, feeds_stream_config(replicas=self.settings.nats_stream_replicas,
                                                            retention_days=self.settings.feeds_retention_days))

        return ensure_feeds_stream

    # --- the stream and the consumers -------------------------------------------------------------

    def consumer_config(self, institution_id: str, *, start: datetime | None = None) -> ConsumerConfig:
        config = ConsumerConfig(
            durable_name=nats_auth.consumer_name(institution_id),
            description=f"feed of institution {institution_id}",
            deliver_subject=nats_auth.deliver_subject(institution_id),
            filter_subject=nats_auth.feed_subjects(institution_id),
            ack_policy=AckPolicy.EXPLICIT, ack_wait=self.settings.feeds_ack_wait_seconds,
            max_ack_pending=self.settings.feeds_max_ack_pending, max_deliver=-1,
            deliver_policy=DeliverPolicy.ALL)
        if start is not None:
            config.deliver_policy = DeliverPolicy.BY_START_TIME
            config.opt_start_time = start.astimezone(UTC).isoformat().replace("+00:00", "Z")
        return config

    async def ensure_consumer(self, institution_id: str) -> None:
        """The institution's durable consumer, created once with every event of its feed still held; an
        existing one (replayed from a point in time, say) is left as it is."""
        if institution_id in self._known_consumers:
            return
        js = self.nats.js
        name = nats_auth.consumer_name(institution_id)
        try:
            await js.consumer_info(nats_auth.FEEDS_STREAM, name)
        except NotFoundError:
            try:
                await js.add_consumer(nats_auth.FEEDS_STREAM, self.consumer_config(institution_id))
            except Exception:  # another replica created it in between: the info below tells
                await js.consumer_info(nats_auth.FEEDS_STREAM, name)
        self._known_consumers.add(institution_id)

    async def replay(self, institution_id: str, *, since: datetime) -> None:
        """Recreates the institution's consumer so it delivers its feed again from ``since`` (what is
        still held: ``feeds_retention_days``). Unacknowledged deliveries of the old consumer are gone
        with it; the new one starts from ``since``, so nothing after it is lost."""
        js = self.nats.js
        with contextlib.suppress(NotFoundError):
            await js.delete_consumer(nats_auth.FEEDS_STREAM, nats_auth.consumer_name(institution_id))
        await js.add_consumer(nats_auth.FEEDS_STREAM, self.consumer_config(institution_id, start=since))
        self._known_consumers.add(institution_id)

    async def consumer_state(self, institution_id: str) -> ConsumerState | None:
        try:
            info = await self.nats.js.consumer_info(nats_auth.FEEDS_STREAM, nats_auth.consumer_name(institution_id))
        except NotFoundError:
            return None
        start = None
        if info.config.opt_start_time:
            start = datetime.fromisoformat(str(info.config.opt_start_time).replace("Z", "+00:00"))
        return ConsumerState(start=start, pending=info.num_pending or 0, ack_pending=info.num_ack_pending or 0,
                             redelivered=info.num_redelivered or 0,
                             delivered=(info.delivered.stream_seq or 0) if info.delivered else 0,
                             acknowledged=(info.ack_floor.stream_seq or 0) if info.ack_floor else 0,
                             subscribed=bool(info.push_bound))

    async def publish(self, messages: list[FeedMessage]) -> None:
        """Publishes a batch and waits for JetStream to have stored all of it (an error raises, and the
        batch is retried: the message ids make a second copy a duplicate JetStream drops)."""
        if not messages:
            return
        js = self.nats.js
        for institution_id in dict.fromkeys(m.institution_id for m in messages):
            await self.ensure_consumer(institution_id)
        futures = [await js.publish_async(m.subject, m.body(), headers=m.headers()) for m in messages]
        await asyncio.gather(*futures)

    # --- accounts and credentials -------------------------------------------------------------------

    def _bundle(self) -> nats_auth.OperatorBundle:
        if self.bundle is None:
            raise FeedsNotConfigured("feeds credentials are not configured on this platform")
        return self.bundle

    def account_key(self, institution_id: str) -> KeyPair:
        return nats_auth.institution_account(self._bundle(), institution_id,
                                             key_version=self.settings.feeds_account_key_version)

    async def _system(self) -> nats.NATS:
        """A short-lived system-account connection to whichever node answers first (claims pushed to one
        node reach the cluster's others through the full resolver)."""
        last: Exception | None = None
        for url in self.settings.nats_server_urls:
            try:
                return await nats.connect(url, user_credentials=str(self._bundle().system_credentials),
                                          connect_timeout=5, allow_reconnect=False, max_reconnect_attempts=0)
            except Exception as exc:  # noqa: BLE001 - the next node may answer
                last = exc
        raise ConnectionError(f"no NATS node answered: {last}")

    async def sync_account(self, institution_id: str, *, active: bool | None,
                           revoke_users_before: datetime | None = None) -> AccountState:
        """Pushes the institution's account JWT to the servers (no restart: the full resolver takes it),
        keeping what the servers hold unless told otherwise: ``active`` None keeps whether it admits
        connections (a new account does), and revocations only move forward."""
        bundle = self._bundle()
        account = self.account_key(institution_id)
        # Real time: a JWT's iat and exp are read by nats-server against its own clock.
        now = real_now()
        client = await self._system()
        try:
            current = await _lookup(client, account.public_key)
            held = _account_state(current)
            state = AccountState(
                active=held.active if active is None else active,
                users_revoked_before=max((t for t in (held.users_revoked_before, revoke_users_before) if t),
                                         default=None))
            token = nats_auth.institution_account_jwt(bundle, institution_id, account, active=state.active, now=now,
                                                      revoke_users_before=state.users_revoked_before)
            await nats_auth.push_claims(client, token)
        finally:
            await client.close()
        return state

    async def revoke_credentials(self, institution_id: str) -> None:
        """Every subscriber credential issued so far stops working, connected ones are disconnected; the
        account, its consumer and its feed stay (new credentials work at once)."""
        await self.sync_account(institution_id, active=None, revoke_users_before=real_now())

    async def issue_credentials(self, institution_id: str, *, name: str) -> IssuedCredentials:
        """A new subscriber's ``.creds`` for the institution's feed. The account is (re)pushed first, so a
        new institution's credentials work at once, whether or not its directory event was seen yet."""
        state = await self.sync_account(institution_id, active=None)
        now = real_now()
        if not state.active:
            raise InstitutionInactive(institution_id)
        await self.ensure_consumer(institution_id)
        expires_at = credentials_expiry(now, days=self.settings.feeds_credentials_days)
        account = self.account_key(institution_id)
        # JWT times are whole seconds, and a revocation covers users issued up to its second included:
        # one issued in that very second would be revoked with it.
        issued_at = now
        revoked = state.users_revoked_before
        if revoked is not None and int(issued_at.timestamp()) <= int(revoked.timestamp()):
            issued_at = revoked.replace(microsecond=0) + timedelta(seconds=1)
        creds, user = nats_auth.feed_user_creds(account, institution_id, name=name, now=issued_at,
                                                expires_at=expires_at)
        return IssuedCredentials(creds=creds, user_public_key=user, account_public_key=account.public_key,
                                 expires_at=expires_at)


async def _lookup(client: nats.NATS, account_public_key: str) -> str | None:
    reply = await client.request(ACCOUNT_LOOKUP.format(account_public_key), b"", timeout=5)
    text = (reply.data or b"").decode().strip()
    return text if text.count(".") == 2 else None


def _account_state(token: str | None) -> AccountState:
    if token is None:
        return AccountState(active=True, users_revoked_before=None)
    claims: dict[str, Any] = nats_jwt.decode_unverified(token).get("nats", {})
    revoked = (claims.get("revocations") or {}).get("*")
    return AccountState(active=(claims.get("limits") or {}).get("conn", -1) != 0,
                        users_revoked_before=datetime.fromtimestamp(int(revoked), UTC) if revoked else None)
