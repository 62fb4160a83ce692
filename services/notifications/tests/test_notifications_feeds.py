"""Member organisations' NATS feeds (issue 12, acceptance 4; ADR 0033), against a nats-server of this
module's own in operator mode (an operator, a system account, the PLATFORM account, a full resolver):

- an institution's credentials receive its feed, and after a disconnect receive what was published
  meanwhile and what was delivered but not acknowledged: nothing is lost;
- they can read nothing else: another institution's delivery subject, ``events.>`` and ``feed.>`` are
  permission violations, and even a user of the institution's account allowed every subject receives
  nothing of another institution (the account imports only its own feed);
- a confidential MLA request's event carries no facts on a feed, and no feed says whom else an event
  concerned;
- an institution registered while NATS runs gets working credentials without restarting NATS, from its
  directory event and from the credentials endpoint alike;
- a replay from a point in time delivers the feed again from there.
"""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from nats.aio.client import Client
from nats.aio.msg import Msg

from comitas_shared import migrations, nats_auth
from comitas_shared.events.catalogue import (
    INSTITUTION_REGISTERED,
    INSTITUTION_UPDATED,
    MLA_ACKNOWLEDGED,
    MLA_ISSUED,
    TOKEN_REVOKED,
    DirectoryMandate,
    InstitutionRegistered,
    InstitutionUpdated,
    MlaAcknowledged,
    MlaIssued,
    TokenRevoked,
)
from comitas_shared.events.envelope import CloudEvent
from comitas_shared.nats_auth import jwt as nats_jwt
from comitas_shared.testing import NatsServer, ServedApp, drop_database, eventually, fresh_database_url

# The conftest's token issuer (a fixture: the tests folder is not a package).
Issuer = Any

pytestmark = pytest.mark.timeout(240)

SOURCE = "/comitas/tests"


@dataclass
class FeedsEnv:
    bundle: nats_auth.OperatorBundle
    nats_server: NatsServer
    served: ServedApp
    issuer: Issuer
    platform: Client
    tmp: Path

    @property
    def url(self) -> str:
        return self.served.url

    def client(self, institution_id: str, scopes: list[str] | None = None) -> httpx.AsyncClient:
        token = self.issuer.token(institution_id, scopes)
        return httpx.AsyncClient(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=30)

    async def publish(self, event: CloudEvent) -> None:
        await self.platform.jetstream().publish(event.nats_subject, event.nats_body(), headers=event.nats_headers())

    async def credentials(self, institution_id: str, name: str = "tests") -> Path:
        async with self.client(institution_id) as api:
            response = await api.post("/v1/feeds/credentials", json={"name": name})
        assert response.status_code == 201, response.text
        path = self.tmp / f"{institution_id}-{uuid.uuid4().hex[:6]}.creds"
        path.write_text(response.json()["creds"])
        return path


@pytest.fixture(scope="module")
def operator_nats(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[nats_auth.OperatorBundle, NatsServer]]:
    tmp = tmp_path_factory.mktemp("feeds-operator")
    bundle = nats_auth.create(tmp / "auth", now=datetime.now(UTC))
    server = NatsServer(store_dir=tmp / "store", config_file=bundle.resolver_config).start()
    yield bundle, server
    server.stop()


@pytest.fixture(scope="module")
async def feeds_env(operator_nats: tuple[nats_auth.OperatorBundle, NatsServer], issuer: Issuer,
                    tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[FeedsEnv]:
    from comitas_notifications.main import create_app
    from comitas_notifications.settings import NotificationsSettings

    bundle, server = operator_nats
    tmp = tmp_path_factory.mktemp("feeds")
    database_url = fresh_database_url("notifications_feeds", tmp)
    migrations.upgrade("comitas_notifications", database_url)
    settings = NotificationsSettings(
        database_url=database_url, environment="test", nats_url=server.url, issuer=issuer.url,
        nats_credentials=str(bundle.platform_credentials), outbox_poll_seconds=0.2, feeds_enabled=True,
        feeds_operator_dir=str(bundle.directory), feeds_ack_wait_seconds=2.0)
    served = await ServedApp(create_app(settings)).start()
    platform = await nats.connect(server.url, user_credentials=str(bundle.platform_credentials))
    try:
        await served.app.state.platform.nats.wait_ready(timeout=30)
        yield FeedsEnv(bundle=bundle, nats_server=server, served=served, issuer=issuer, platform=platform, tmp=tmp)
    finally:
        await platform.close()
        await served.stop()
        if os.environ.get("DATABASE_URL"):
            drop_database(database_url)


@dataclass
class Subscriber:
    """A member organisation's program: connects with its .creds, listens, acknowledges (or not)."""

    url: str
    creds: Path
    ack: bool = True
    messages: list[Msg] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    nc: Client | None = None

    async def connect(self, *subjects: str) -> Subscriber:
        async def error(exc: Exception) -> None:
            self.errors.append(str(exc))

        self.nc = await nats.connect(self.url, user_credentials=str(self.creds), error_cb=error, allow_reconnect=False,
                                     max_reconnect_attempts=0)

        async def receive(message: Msg) -> None:
            self.messages.append(message)
            if self.ack and message.reply:
                await message.ack()

        for subject in subjects:
            await self.nc.subscribe(subject, cb=receive)
        await self.nc.flush()
        return self

    async def close(self) -> None:
        if self.nc is not None:
            await self.nc.close()
            self.nc = None

    def ids(self) -> list[str]:
        return [(m.headers or {}).get("ce-id", "") for m in self.messages]


def acknowledged(request_id: str, *, requesting: str, requested: str, confidential: bool = False,
                 extra: dict[str, Any] | None = None) -> CloudEvent:
    """An MLA event concerning both authorities, shaped as the mla service shapes it (domain.event_for)."""
    fields: dict[str, Any] = {"request_id": request_id, "state": "acknowledged"}
    if not confidential:
        fields |= {"reference": f"MLA-{request_id[:6]}", "basis": "eio", "requesting_institution_id": requesting,
                   "requested_institution_id": requested, "requesting_state": "FR", "requested_state": "ES",
                   "assistance": ["hearing"]}
    event = MLA_ACKNOWLEDGED.build(source=SOURCE, subject=request_id, institution_id=None if confidential else requesting,
                                   data=MlaAcknowledged(**fields), time=datetime.now(UTC),
                                   concerns=(requesting, requested))
    if extra:
        event = event.model_copy(update={"data": {**event.data, **extra}})
    return event


def directory_event(institution_id: str, *, version: int, active: bool = True, registered: bool = True) -> CloudEvent:
    common: dict[str, Any] = dict(
        institution_id=institution_id, version=version, name=f"Feed test {institution_id[:6]}", kind="nhri",
        country="FR", mandate=DirectoryMandate(), state_institution=False, accepts_referrals=True, active=active,
        changed_at=datetime.now(UTC))
    if registered:
        return INSTITUTION_REGISTERED.build(source="/comitas/identity", subject=institution_id,
                                            institution_id=institution_id, data=InstitutionRegistered(**common),
                                            time=datetime.now(UTC))
    return INSTITUTION_UPDATED.build(source="/comitas/identity", subject=institution_id, institution_id=institution_id,
                                     data=InstitutionUpdated(**common, changed=["active"]), time=datetime.now(UTC))


async def account_jwt(env: FeedsEnv, institution_id: str) -> str | None:
    account = nats_auth.institution_account(env.bundle, institution_id)
    nc = await nats.connect(env.nats_server.url, user_credentials=str(env.bundle.system_credentials))
    try:
        reply = await nc.request(f"$SYS.REQ.ACCOUNT.{account.public_key}.CLAIMS.LOOKUP", b"", timeout=5)
    finally:
        await nc.close()
    text = reply.data.decode().strip()
    return text if text.count(".") == 2 else None


async def test_an_institutions_credentials_receive_its_feed_and_resume_without_loss(feeds_env: FeedsEnv) -> None:
    mine, other = str(uuid.uuid4()), str(uuid.uuid4())
    async with feeds_env.client(mine) as api:
        described = (await api.get("/v1/feeds")).json()
    assert described["enabled"] and described["credentials_available"]
    assert described["subjects"] == f"feed.{mine}.>" and described["deliver_subject"] == f"deliver.feed.{mine}"
    assert "comitas.mla.acknowledged" in {t["type"] for t in described["event_types"]}
    assert "comitas.identity.token_revoked" not in {t["type"] for t in described["event_types"]}

    creds = await feeds_env.credentials(mine)
    claims = nats_jwt.decode_unverified(creds.read_text().split("\n")[1])
    assert claims["nats"]["sub"]["allow"] == [f"deliver.feed.{mine}", "_INBOX.>"]
    assert claims["nats"]["pub"]["allow"] == [f"$JS.ACK.FEEDS.feed-{mine}.>"]

    subscriber = await Subscriber(feeds_env.nats_server.url, creds).connect(f"deliver.feed.{mine}")
    first = acknowledged(str(uuid.uuid4()), requesting=mine, requested=other)
    await feeds_env.publish(first)
    await eventually(lambda: first.id in subscriber.ids(), timeout=30)
    message = subscriber.messages[0]
    assert message.subject == f"feed.{mine}.mla.acknowledged"
    assert CloudEvent.from_nats(message.headers, message.data).data == first.data
    await subscriber.close()

    # Published while the subscriber is away: waiting in its durable consumer.
    meanwhile = [acknowledged(str(uuid.uuid4()), requesting=mine, requested=other) for _ in range(3)]
    for event in meanwhile:
        await feeds_env.publish(event)
    # Delivered but never acknowledged (the program died before acknowledging): delivered again.
    careless = await Subscriber(feeds_env.nats_server.url, creds, ack=False).connect(f"deliver.feed.{mine}")
    await eventually(lambda: {e.id for e in meanwhile} <= set(careless.ids()), timeout=30)
    await careless.close()

    resumed = await Subscriber(feeds_env.nats_server.url, creds).connect(f"deliver.feed.{mine}")
    await eventually(lambda: {e.id for e in meanwhile} <= set(resumed.ids()), timeout=30)
    assert first.id not in resumed.ids()  # acknowledged before: not delivered again

    async def all_acknowledged() -> bool:
        async with feeds_env.client(mine) as api:
            state = (await api.get("/v1/feeds")).json()["consumer_state"]
        return state["ack_pending"] == 0 and state["pending"] == 0 and state["subscribed"]

    await eventually(all_acknowledged, timeout=30)
    await resumed.close()

    # The other authority's feed got the same events, each once (its own consumer, its own account).
    other_creds = await feeds_env.credentials(other)
    theirs = await Subscriber(feeds_env.nats_server.url, other_creds).connect(f"deliver.feed.{other}")
    await eventually(lambda: {first.id, *(e.id for e in meanwhile)} <= set(theirs.ids()), timeout=30)
    assert all(m.subject.startswith(f"feed.{other}.") for m in theirs.messages)
    await theirs.close()


async def test_credentials_read_nothing_but_their_own_feed(feeds_env: FeedsEnv) -> None:
    mine, other, third = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
    creds = await feeds_env.credentials(mine)
    await feeds_env.credentials(other)
    subscriber = await Subscriber(feeds_env.nats_server.url, creds).connect(
        f"deliver.feed.{other}", "events.>", f"feed.{other}.>", "feed.>")
    # Events of the other institution only (and a platform-internal one), flowing while it listens.
    theirs = [acknowledged(str(uuid.uuid4()), requesting=other, requested=third) for _ in range(3)]
    internal = TOKEN_REVOKED.build(source=SOURCE, subject=None, institution_id=mine, time=datetime.now(UTC),
                                   data=TokenRevoked(jti="x", expires_at=datetime.now(UTC), client_id="c"))
    for event in [*theirs, internal]:
        await feeds_env.publish(event)
    await eventually(lambda: len(subscriber.errors) >= 4, timeout=30)
    assert all("permissions violation" in e.lower() for e in subscriber.errors), subscriber.errors
    await subscriber.close()

    # Beyond the user's permissions, the account itself holds nothing else: a user of it allowed every
    # subject (which Comitas never issues) sees only the institution's own feed.
    account = nats_auth.institution_account(feeds_env.bundle, mine)
    text, _ = nats_auth.feed_user_creds(account, mine, name="wide", now=datetime.now(UTC), expires_at=None,
                                        permissions=nats_jwt.Permissions(publish=(">",), subscribe=(">",)))
    wide_creds = feeds_env.tmp / "wide.creds"
    wide_creds.write_text(text)
    wide = await Subscriber(feeds_env.nats_server.url, wide_creds, ack=False).connect(">")
    more_of_theirs = acknowledged(str(uuid.uuid4()), requesting=other, requested=third)
    mine_too = acknowledged(str(uuid.uuid4()), requesting=mine, requested=third)
    await feeds_env.publish(more_of_theirs)
    await feeds_env.publish(mine_too)
    await eventually(lambda: mine_too.id in wide.ids(), timeout=30)
    await asyncio.sleep(1.0)
    assert not wide.errors
    assert all(m.subject.startswith(f"feed.{mine}.") for m in wide.messages), [m.subject for m in wide.messages]
    assert not {more_of_theirs.id, internal.id, *(e.id for e in theirs)} & set(wide.ids())
    # Publishing into the platform's subjects goes nowhere either: they do not exist in its account.
    before = (await feeds_env.platform.jetstream().stream_info("EVENTS")).state.messages
    assert wide.nc is not None
    await wide.nc.publish("events.mla.acknowledged", b"{}")
    await wide.nc.publish(f"feed.{other}.mla.acknowledged", b"{}")
    await wide.nc.flush()
    await wide.close()
    await asyncio.sleep(0.5)
    assert (await feeds_env.platform.jetstream().stream_info("EVENTS")).state.messages == before


async def test_a_confidential_event_carries_no_facts_and_no_feed_says_who_else_it_concerned(
        feeds_env: FeedsEnv) -> None:
    mine, other = str(uuid.uuid4()), str(uuid.uuid4())
    creds = await feeds_env.credentials(mine)
    subscriber = await Subscriber(feeds_env.nats_server.url, creds).connect(f"deliver.feed.{mine}")
    request_id = str(uuid.uuid4())
    confidential = acknowledged(request_id, requesting=mine, requested=other, confidential=True)
    # A field no catalogue type declares, slipped in by a producer: never on a feed.
    open_one = acknowledged(str(uuid.uuid4()), requesting=mine, requested=other,
                            extra={"facts": "the suspect's bank accounts", "victim_name": "X"})
    issued = MLA_ISSUED.build(source=SOURCE, subject=request_id, institution_id=None,
                              data=MlaIssued(request_id=request_id, state="issued"), time=datetime.now(UTC),
                              concerns=(mine, other))
    for event in (confidential, open_one, issued):
        await feeds_env.publish(event)
    await eventually(lambda: {confidential.id, open_one.id, issued.id} <= set(subscriber.ids()), timeout=30)
    await subscriber.close()
    by_id = {(m.headers or {})["ce-id"]: m for m in subscriber.messages}
    for event in (confidential, issued):
        message = by_id[event.id]
        assert json.loads(message.data) == {"request_id": request_id, "state": event.data["state"]}
        assert "ce-institutionid" not in (message.headers or {})
    for message in by_id.values():
        assert "ce-concerns" not in (message.headers or {})
    shown = json.loads(by_id[open_one.id].data)
    assert "facts" not in shown and "victim_name" not in shown
    assert shown["reference"] == open_one.data["reference"]


async def test_an_institution_registered_while_nats_runs_gets_working_credentials(feeds_env: FeedsEnv) -> None:
    server_process = feeds_env.nats_server.process
    assert server_process is not None
    newcomer = str(uuid.uuid4())
    assert await account_jwt(feeds_env, newcomer) is None
    # Its registration reaches notifications as a directory event: the account is pushed at once.
    await feeds_env.publish(directory_event(newcomer, version=1))
    await eventually(lambda: account_jwt(feeds_env, newcomer), timeout=30)
    newcomer_creds = await feeds_env.credentials(newcomer)
    subscriber = await Subscriber(feeds_env.nats_server.url, newcomer_creds).connect(f"deliver.feed.{newcomer}")
    event = acknowledged(str(uuid.uuid4()), requesting=newcomer, requested=str(uuid.uuid4()))
    await feeds_env.publish(event)
    await eventually(lambda: event.id in subscriber.ids(), timeout=30)
    await subscriber.close()

    # One whose directory event has not arrived (yet) works the same: the credentials push the account.
    unannounced = str(uuid.uuid4())
    creds = await feeds_env.credentials(unannounced)
    subscriber = await Subscriber(feeds_env.nats_server.url, creds).connect(f"deliver.feed.{unannounced}")
    event = acknowledged(str(uuid.uuid4()), requesting=unannounced, requested=str(uuid.uuid4()))
    await feeds_env.publish(event)
    await eventually(lambda: event.id in subscriber.ids(), timeout=30)
    await subscriber.close()
    assert feeds_env.nats_server.process is server_process and server_process.poll() is None

    # Deactivated in the directory: its account admits no connection, and no new credentials.
    await feeds_env.publish(directory_event(newcomer, version=2, active=False, registered=False))

    async def deactivated() -> bool:
        token = await account_jwt(feeds_env, newcomer)
        return token is not None and nats_jwt.decode_unverified(token)["nats"]["limits"]["conn"] == 0

    await eventually(deactivated, timeout=30)
    async with feeds_env.client(newcomer) as api:
        refused = await api.post("/v1/feeds/credentials", json={})
    assert refused.status_code == 409, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    refused_connection = Subscriber(feeds_env.nats_server.url, newcomer_creds)
    try:
        await refused_connection.connect(f"deliver.feed.{newcomer}")
    except Exception as exc:  # noqa: BLE001 - nats-py raises what the server said, in its own types
        refused_connection.errors.append(str(exc))
    assert any("maximum account active connections" in e for e in refused_connection.errors), refused_connection.errors


async def test_a_replay_from_a_point_in_time_delivers_the_feed_again_from_there(feeds_env: FeedsEnv) -> None:
    mine, other = str(uuid.uuid4()), str(uuid.uuid4())
    creds = await feeds_env.credentials(mine)
    subscriber = await Subscriber(feeds_env.nats_server.url, creds).connect(f"deliver.feed.{mine}")
    before = [acknowledged(str(uuid.uuid4()), requesting=mine, requested=other) for _ in range(2)]
    for event in before:
        await feeds_env.publish(event)
    await eventually(lambda: {e.id for e in before} <= set(subscriber.ids()), timeout=30)
    await asyncio.sleep(1.1)
    since = datetime.now(UTC)
    await asyncio.sleep(0.1)
    after = [acknowledged(str(uuid.uuid4()), requesting=mine, requested=other) for _ in range(2)]
    for event in after:
        await feeds_env.publish(event)
    await eventually(lambda: {e.id for e in after} <= set(subscriber.ids()), timeout=30)
    await subscriber.close()

    async with feeds_env.client(mine) as api:
        replayed = await api.post("/v1/feeds/replay", json={"since": since.isoformat().replace("+00:00", "Z")})
        assert replayed.status_code == 200, replayed.text
        assert replayed.json()["pending"] == 2
        naive = await api.post("/v1/feeds/replay", json={"since": "2026-01-01T00:00:00"})
        future = await api.post("/v1/feeds/replay",
                                json={"since": (datetime.now(UTC) + timedelta(days=1)).isoformat()})
    assert naive.status_code == 422 and future.status_code == 422
    again = await Subscriber(feeds_env.nats_server.url, creds).connect(f"deliver.feed.{mine}")
    await eventually(lambda: {e.id for e in after} <= set(again.ids()), timeout=30)
    assert not {e.id for e in before} & set(again.ids())
    await again.close()


async def test_an_idempotent_retry_replays_the_same_credentials(feeds_env: FeedsEnv) -> None:
    mine = str(uuid.uuid4())
    async with feeds_env.client(mine) as api:
        headers = {"Idempotency-Key": str(uuid.uuid4())}
        first = await api.post("/v1/feeds/credentials", json={"name": "ops"}, headers=headers)
        second = await api.post("/v1/feeds/credentials", json={"name": "ops"}, headers=headers)
        fresh = await api.post("/v1/feeds/credentials", json={"name": "ops"})
    assert first.status_code == second.status_code == fresh.status_code == 201
    assert first.json() == second.json()
    assert fresh.json()["user_public_key"] != first.json()["user_public_key"]
    async with feeds_env.client(mine, scopes=["deadlines:read"]) as api:
        assert (await api.post("/v1/feeds/credentials", json={})).status_code == 403
        assert (await api.get("/v1/feeds")).status_code == 403


async def test_without_feeds_the_endpoints_say_so(env: Any) -> None:
    """The session's notifications (plain JetStream, no accounts, feeds off, as every other test runs)."""
    institution_id = str(uuid.uuid4())
    async with env.client(institution_id) as api:
        described = await api.get("/v1/feeds")
        refused = await api.post("/v1/feeds/credentials", json={})
        replay = await api.post("/v1/feeds/replay", json={"since": "2026-01-01T00:00:00Z"})
    assert described.status_code == 200 and described.json()["enabled"] is False
    assert described.json()["consumer_state"] is None
    for answer in (refused, replay):
        assert answer.status_code == 503, answer.text
        assert answer.json()["type"].endswith("/feeds-unavailable")


async def test_revoking_credentials_disconnects_their_holders_and_new_ones_work(feeds_env: FeedsEnv) -> None:
    mine = str(uuid.uuid4())
    old_creds = await feeds_env.credentials(mine)
    connected = await Subscriber(feeds_env.nats_server.url, old_creds).connect(f"deliver.feed.{mine}")
    assert connected.nc is not None
    closed = connected.nc
    async with feeds_env.client(mine) as api:
        revoked = await api.delete("/v1/feeds/credentials")
    assert revoked.status_code == 204, revoked.text
    await eventually(lambda: closed.is_closed, timeout=30)
    refused = Subscriber(feeds_env.nats_server.url, old_creds)
    with pytest.raises(Exception):  # noqa: B017 - nats-py's own error types
        await refused.connect(f"deliver.feed.{mine}")
    # Issued in the same second as the revocation, and still admitted.
    new_creds = await feeds_env.credentials(mine)
    fresh = await Subscriber(feeds_env.nats_server.url, new_creds).connect(f"deliver.feed.{mine}")
    event = acknowledged(str(uuid.uuid4()), requesting=mine, requested=str(uuid.uuid4()))
    await feeds_env.publish(event)
    await eventually(lambda: event.id in fresh.ids(), timeout=30)
    await fresh.close()


async def test_a_deactivation_overtaken_by_the_registration_still_leaves_the_account_closed(
        feeds_env: FeedsEnv) -> None:
    """Directory events can arrive out of order (a redelivery, the relay's retry). The deactivation
    (version 2) handled before the registration (version 1) must not be undone by it: the account is
    pushed with the newest entry's ``active``, not the event's."""
    from comitas_notifications.feeds.consumers import FEED_ACCOUNTS_CONSUMER
    from comitas_shared.events.nats import EVENTS_STREAM

    late = str(uuid.uuid4())
    js = feeds_env.platform.jetstream()
    for event in (directory_event(late, version=2, active=False, registered=False),
                  directory_event(late, version=1, active=True)):
        stored = await js.publish(event.nats_subject, event.nats_body(), headers=event.nats_headers())

    async def both_handled() -> bool:
        info = await js.consumer_info(EVENTS_STREAM, FEED_ACCOUNTS_CONSUMER)
        return info.ack_floor is not None and (info.ack_floor.stream_seq or 0) >= stored.seq

    await eventually(both_handled, timeout=30)
    token = await account_jwt(feeds_env, late)
    assert token is not None
    assert nats_jwt.decode_unverified(token)["nats"]["limits"]["conn"] == 0
    async with feeds_env.client(late) as api:
        refused = await api.post("/v1/feeds/credentials", json={})
    assert refused.status_code == 409, refused.text
