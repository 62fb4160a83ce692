"""Channels end to end: e-mail to a real SMTP server (aiosmtpd) started here, in the institution's
language and time zone, retried on 4xx and failed on 5xx, with a stable Message-ID; daily digests driven
by the business clock; subscriptions filtered by case and urgency; the directory read model following
identity's events and reading contacts from (a stand-in for) identity's API.

A notifications service of its own (its own NATS and database), whose clock is pinned and whose
delivery worker is stopped: the tests drive a worker with ``run_once(now)``, so nothing waits for a day.
"""

from __future__ import annotations

import asyncio
import base64
import os
import threading
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from typing import Any

import httpx
import nats
import pytest
from aiosmtpd.controller import Controller
from nats.aio.client import Client
from standardwebhooks import Webhook
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from comitas_shared import migrations
from comitas_shared.clock import FixedClock
from comitas_shared.events.catalogue import (
    COMPLAINT_STATUS_CHANGED,
    COMPLAINT_SUBMITTED,
    DEADLINE_REMINDER,
    INSTITUTION_REGISTERED,
    INSTITUTION_UPDATED,
    ComplaintStatusChanged,
    ComplaintSubmitted,
    DeadlineReminder,
    DirectoryMandate,
    InstitutionRegistered,
    InstitutionUpdated,
)
from comitas_shared.events.envelope import CloudEvent
from comitas_shared.testing import (
    NatsServer,
    ServedApp,
    drop_database,
    eventually,
    free_port,
    fresh_database_url,
)

# Tuesday 1 December 2026, 10:00 UTC: 11:00 in Paris, 05:00 in Bogotá.
START = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
CLIENT_ID, CLIENT_SECRET = "notifications-service", "s3cret-for-tests"


# --- a stand-in for identity: client credentials, and the directory with contacts ---------------------


class FakeIdentity:
    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}
        self.token_requests: list[dict[str, str]] = []
        self.served = ServedApp(Starlette(routes=[
            Route("/oauth/token", self._token, methods=["POST"]),
            Route("/v1/institutions", self._list),
            Route("/v1/institutions/{institution_id}", self._get),
        ]))

    async def _token(self, request: Request) -> Response:
        expected = "Basic " + base64.b64encode(f"{CLIENT_ID}:{CLIENT_SECRET}".encode()).decode()
        if request.headers.get("authorization") != expected:
            return JSONResponse({"error": "invalid_client"}, status_code=401)
        form = dict(await request.form())
        self.token_requests.append({k: str(v) for k, v in form.items()})
        return JSONResponse({"access_token": "contacts-token", "token_type": "Bearer", "expires_in": 300})

    def _authorised(self, request: Request) -> bool:
        return request.headers.get("authorization") == "Bearer contacts-token"

    async def _get(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({}, status_code=401)
        entry = self.entries.get(request.path_params["institution_id"])
        return JSONResponse(entry) if entry else JSONResponse({"status": 404}, status_code=404)

    async def _list(self, request: Request) -> Response:
        if not self._authorised(request):
            return JSONResponse({}, status_code=401)
        return JSONResponse({"items": list(self.entries.values()), "next_cursor": None})


# --- an SMTP server that records what it is sent and answers from a plan --------------------------------


@dataclass
class Mailbox:
    """aiosmtpd handler: every DATA is recorded (with the reply it got); replies come from ``plan``."""

    plan: list[str] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self.lock:
            reply = self.plan.pop(0) if self.plan else "250 2.0.0 Message accepted"
            message = message_from_bytes(envelope.content, policy=default_policy)
            self.received.append({"reply": reply, "mail_from": envelope.mail_from,
                                  "rcpt_tos": list(envelope.rcpt_tos), "message": message})
        return reply

    def accepted(self) -> list[EmailMessage]:
        return [r["message"] for r in self.received if r["reply"].startswith("250")]

    def clear(self) -> None:
        with self.lock:
            self.received.clear()
            self.plan.clear()


@dataclass
class Channels:
    served: ServedApp
    issuer: Any
    identity: FakeIdentity
    mailbox: Mailbox
    nc: Client
    clock: FixedClock
    worker: Any

    @property
    def app(self) -> Any:
        return self.served.app

    def client(self, institution_id: str) -> httpx.AsyncClient:
        token = self.issuer.token(institution_id)
        return httpx.AsyncClient(base_url=self.served.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)

    async def publish(self, event: CloudEvent) -> None:
        await self.nc.jetstream().publish(event.nats_subject, event.nats_body(), headers=event.nats_headers())


@pytest.fixture(scope="module")
async def channels(issuer, tmp_path_factory) -> AsyncIterator[Channels]:
    from comitas_notifications.deliveries.worker import DeliveryWorker
    from comitas_notifications.main import create_app
    from comitas_notifications.settings import NotificationsSettings

    nats_server = NatsServer(store_dir=tmp_path_factory.mktemp("channels-nats")).start()
    url = fresh_database_url("notifications_channels", tmp_path_factory.mktemp("channels-db"))
    migrations.upgrade("comitas_notifications", url)
    identity = FakeIdentity()
    await identity.served.start()
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=free_port())
    smtp.start()
    settings = NotificationsSettings(
        database_url=url, environment="test", nats_url=nats_server.url, issuer=issuer.url, outbox_poll_seconds=0.2,
        allow_private_webhook_targets=True, webhook_retry_base_seconds=60, webhook_max_attempts=3,
        smtp_host="127.0.0.1", smtp_port=smtp.port, smtp_timeout_seconds=5, email_from="Comitas <alerts@comitas.test>",
        identity_url=identity.served.url, identity_client_id=CLIENT_ID, identity_client_secret=CLIENT_SECRET,
        directory_refresh_seconds=0.5, digest_hour=8, digest_default_time_zone="UTC")
    served = await ServedApp(create_app(settings)).start()
    app = served.app
    await app.state.platform.nats.wait_ready(timeout=10)
    clock = FixedClock(START)
    app.state.platform.clock = clock
    # Sending is driven by the tests, one pass at a time, on the pinned clock; a retry's delay is its
    # ceiling (draw 1.0), so the next attempt's time is known.
    await app.state.worker.stop()
    worker = DeliveryWorker(database=app.state.platform.database, settings=settings, secrets=app.state.secrets,
                            clock=clock, draw=lambda: 1.0)
    nc = await nats.connect(nats_server.url)
    try:
        yield Channels(served=served, issuer=issuer, identity=identity, mailbox=mailbox, nc=nc, clock=clock,
                       worker=worker)
    finally:
        await worker.close()
        await nc.close()
        await served.stop()
        smtp.stop()
        await identity.served.stop()
        nats_server.stop()
        if os.environ.get("DATABASE_URL"):
            drop_database(url)


@pytest.fixture
async def env_clean(channels: Channels) -> Channels:
    """Each test starts on the same day with an empty mailbox and no delivery of an earlier test pending,
    so that what a pass of the worker sends is the test's own."""
    from sqlalchemy import text

    channels.mailbox.clear()
    channels.clock.set(START)
    async with channels.app.state.platform.database.transaction() as session:
        await session.execute(text("UPDATE delivery SET state = 'cancelled' WHERE state = 'pending'"))
    return channels


# --- helpers --------------------------------------------------------------------------------------------


def entry(institution_id: str, *, version: int = 1, languages=("fr",), time_zone="Europe/Paris",
          emails=("greffe@defenseur.example.fr",), language="fr", name="Défenseur des droits") -> dict[str, Any]:
    return {"institution_id": institution_id, "version": version, "name": name, "kind": "ombudsperson",
            "country": "FR", "time_zone": time_zone, "languages": list(languages), "state_institution": False,
            "accepts_referrals": True, "active": True, "emails": list(emails), "language": language}


async def register(env: Channels, **overrides: Any) -> str:
    """An institution registered in identity (its event on NATS, its contact behind identity's API);
    returns once notifications has read its contact."""
    institution_id = overrides.pop("institution_id", None) or f"inst_{uuid.uuid4().hex[:12]}"
    fields = entry(institution_id, **overrides)
    env.identity.entries[institution_id] = {
        "id": institution_id, "name": fields["name"], "time_zone": fields["time_zone"],
        "languages": fields["languages"], "active": True, "version": fields["version"],
        "contact": {"emails": fields["emails"], "language": fields["language"]}}
    data = InstitutionRegistered(
        institution_id=institution_id, version=fields["version"], name=fields["name"], kind=fields["kind"],
        country=fields["country"], time_zone=fields["time_zone"], languages=fields["languages"],
        mandate=DirectoryMandate(), state_institution=False, accepts_referrals=True, active=True, changed_at=START)
    await env.publish(INSTITUTION_REGISTERED.build(source="/comitas/identity", subject=institution_id,
                                                   institution_id=institution_id, data=data, time=START))
    async with env.client(institution_id) as api:
        async def known():
            body = (await api.get("/v1/notification-profile")).json()
            return body if body["addresses"] == fields["emails"] else None

        await eventually(known, timeout=10)
    return institution_id


def updated(institution_id: str, *, version: int, changed: list[str], **overrides: Any) -> CloudEvent:
    fields = {k: v for k, v in entry(institution_id, version=version, **overrides).items()
              if k not in {"emails", "language"}}
    data = InstitutionUpdated(**fields, mandate=DirectoryMandate(), changed_at=START, changed=changed)
    return INSTITUTION_UPDATED.build(source="/comitas/identity", subject=institution_id,
                                     institution_id=institution_id, data=data, time=START)


def reminder(institution_id: str, *, case_ref: str = "c-77", reminder_label: str = "d3",
             time_zone: str = "Europe/Paris") -> CloudEvent:
    data = DeadlineReminder(
        deadline_id=str(uuid.uuid4()), deadline_key=f"complaint:{case_ref}:filing:echr", institution_id=institution_id,
        owner_institution_id=institution_id, case_ref=case_ref, case_kind="complaint", kind="filing_limit",
        title="Requête à la CEDH (CMP-2026-0042)", mechanism="echr", reminder=reminder_label,
        fire_at=START, last_day=datetime(2026, 12, 14).date(), time_zone=time_zone,
        due_at=datetime(2026, 12, 14, 22, 59, 59, 999000, tzinfo=UTC))
    return DEADLINE_REMINDER.build(source="/comitas/notifications", subject=case_ref, institution_id=institution_id,
                                   data=data, time=START)


def submitted(institution_id: str, *, complaint_id: str | None = None, urgency: str = "normal",
              reference: str = "CMP-2026-0001", at: datetime = START) -> CloudEvent:
    complaint_id = complaint_id or str(uuid.uuid4())
    return COMPLAINT_SUBMITTED.build(
        source="/comitas/intake", subject=complaint_id, institution_id=institution_id, time=at,
        data=ComplaintSubmitted(complaint_id=complaint_id, institution_id=institution_id, reference=reference,
                                channel="partner_api", submitted_at=at, urgency=urgency))


def activated(institution_id: str, complaint_id: str, at: datetime = START) -> CloudEvent:
    return COMPLAINT_STATUS_CHANGED.build(
        source="/comitas/intake", subject=complaint_id, institution_id=institution_id, time=at,
        data=ComplaintStatusChanged(complaint_id=complaint_id, institution_id=institution_id, action="activate",
                                    from_status="under_assessment", to_status="active", changed_at=at))


async def subscribe(api: httpx.AsyncClient, **body: Any) -> dict[str, Any]:
    response = await api.post("/v1/subscriptions", json={"channel": "email", **body})
    assert response.status_code == 201, response.text
    return response.json()


async def deliveries(api: httpx.AsyncClient, subscription_id: str, **params: Any) -> list[dict[str, Any]]:
    response = await api.get("/v1/deliveries", params={"subscription_id": subscription_id, **params})
    assert response.status_code == 200, response.text
    return response.json()["items"]


async def one_delivery(api: httpx.AsyncClient, subscription_id: str, count: int = 1) -> list[dict[str, Any]]:
    async def found():
        items = await deliveries(api, subscription_id)
        return items if len(items) >= count else None

    return await eventually(found, timeout=10)


async def detail(api: httpx.AsyncClient, delivery_id: str) -> dict[str, Any]:
    response = await api.get(f"/v1/deliveries/{delivery_id}")
    assert response.status_code == 200, response.text
    return response.json()


def text_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def html_of(message: EmailMessage) -> str:
    return message.get_body(preferencelist=("html",)).get_content()


# --- e-mail -----------------------------------------------------------------------------------------------


async def test_a_reminder_reaches_a_french_institution_in_french_with_its_deadline_in_its_zone(env_clean):
    env = env_clean
    institution_id = await register(env)
    async with env.client(institution_id) as api:
        subscription = await subscribe(api, event_types=["comitas.deadline.reminder"])
        assert subscription["secret"] is None and subscription["url"] is None
        event = reminder(institution_id)
        await env.publish(event)
        [delivery] = await one_delivery(api, subscription["id"])
        assert delivery["channel"] == "email" and delivery["kind"] == "event" and delivery["event_id"] == event.id

        assert await env.worker.run_once(env.clock()) == 1
        [received] = env.mailbox.received
        message = received["message"]
        assert received["rcpt_tos"] == ["greffe@defenseur.example.fr"]
        assert received["mail_from"] == "alerts@comitas.test"
        assert message["Subject"] == "[Comitas] Échéance dans 3 jours : Requête à la CEDH (CMP-2026-0042)"
        assert message["Content-Language"] == "fr" and message["Auto-Submitted"] == "auto-generated"
        assert message["Message-ID"] == f"<{delivery['id']}@comitas.test>"
        text = text_of(message)
        assert "Dossier : c-77" in text
        # 22:59:59 UTC is 23:59 in Paris, the zone the last day is counted in.
        assert "Dernier jour : lundi 14 décembre 2026, jusqu’à 23:59 (Europe/Paris)" in text
        assert "Date : 1 décembre 2026, 11:00 (Europe/Paris)" in text
        assert "lundi 14 décembre 2026" in html_of(message) and 'lang="fr"' in html_of(message)

        done = await detail(api, delivery["id"])
        assert done["state"] == "delivered" and done["last_status_code"] == 250
        assert [(a["number"], a["status_code"], a["error"]) for a in done["attempts"]] == [(1, 250, None)]


async def test_a_refusing_server_4xx_is_retried_5xx_fails_and_the_message_id_never_changes(env_clean):
    env = env_clean
    institution_id = await register(env, languages=["es"], language="es", time_zone="America/Bogota",
                                    emails=["casos@legalaid.example.org"], name="Legal Aid")
    async with env.client(institution_id) as api:
        subscription = await subscribe(api, event_types=["comitas.complaint.*"])
        event = submitted(institution_id)
        await env.publish(event)
        [delivery] = await one_delivery(api, subscription["id"])

        # 451: temporary. Logged, pending, due again after the backoff (base 60 s, draw 1.0).
        env.mailbox.plan = ["451 4.3.0 Mailbox busy, try later"]
        assert await env.worker.run_once(env.clock()) == 1
        first = await detail(api, delivery["id"])
        assert first["state"] == "pending" and first["last_status_code"] == 451
        assert "451" in first["last_error"] and "try later" in first["last_error"]
        assert datetime.fromisoformat(first["next_attempt_at"]) == env.clock() + timedelta(seconds=60)
        assert await env.worker.run_once(env.clock()) == 0  # not due yet on this clock

        env.clock.advance(seconds=60)
        assert await env.worker.run_once(env.clock()) == 1
        delivered = await detail(api, delivery["id"])
        assert delivered["state"] == "delivered"
        assert [a["status_code"] for a in delivered["attempts"]] == [451, 250]
        assert delivered["attempts"][0]["error"].startswith("the SMTP server answered 451")

        # A redelivery is the same message again: the same Message-ID, so it is recognised as a resend.
        assert (await api.post(f"/v1/deliveries/{delivery['id']}/redeliver")).status_code == 200
        assert await env.worker.run_once(env.clock()) == 1
        ids = {r["message"]["Message-ID"] for r in env.mailbox.received}
        assert ids == {f"<{delivery['id']}@comitas.test>"} and len(env.mailbox.received) == 3
        # (A long ASCII subject is folded onto a continuation line: unfolded, it keeps the leading space.)
        subject = env.mailbox.received[-1]["message"]["Subject"].strip()
        assert subject == f"[Comitas] Denuncia presentada, caso {event.data['complaint_id']}"

        # 550: permanent. Failed at once, not retried; it may be redelivered by hand.
        second = submitted(institution_id)
        await env.publish(second)
        await one_delivery(api, subscription["id"], count=2)
        [refused] = [d for d in await deliveries(api, subscription["id"]) if d["event_id"] == second.id]
        env.mailbox.plan = ["550 5.1.1 No such mailbox"]
        assert await env.worker.run_once(env.clock()) == 1
        failed = await detail(api, refused["id"])
        assert failed["state"] == "failed" and failed["next_attempt_at"] is None
        assert [(a["status_code"], "No such mailbox" in a["error"]) for a in failed["attempts"]] == [(550, True)]
        env.clock.advance(days=1)
        assert await env.worker.run_once(env.clock()) == 0
        listed = await deliveries(api, subscription["id"], state="failed")
        assert [d["id"] for d in listed] == [refused["id"]]


async def test_an_unreachable_server_keeps_the_delivery_pending_then_dead_all_in_the_log(env_clean):
    """What ``make run`` does without an SMTP server: the attempts fail to connect, are retried, and
    the delivery ends dead, each attempt in the log; nothing else is disturbed."""
    from comitas_notifications.deliveries.worker import DeliveryWorker

    env = env_clean
    institution_id = await register(env, languages=["en"], language="en", emails=["desk@ngo.example.org"])
    async with env.client(institution_id) as api:
        subscription = await subscribe(api, event_types=["comitas.complaint.submitted"])
        await env.publish(submitted(institution_id))
        [delivery] = await one_delivery(api, subscription["id"])
    settings = env.worker.settings.model_copy(update={"smtp_port": free_port()})
    offline = DeliveryWorker(database=env.worker.database, settings=settings, secrets=env.worker.secrets,
                             clock=env.clock, draw=lambda: 1.0)
    try:
        for _ in range(settings.webhook_max_attempts):
            assert await offline.run_once(env.clock()) == 1
            env.clock.advance(hours=1)
    finally:
        await offline.close()
    async with env.client(institution_id) as api:
        dead = await detail(api, delivery["id"])
    assert dead["state"] == "dead" and len(dead["attempts"]) == settings.webhook_max_attempts
    assert all(a["status_code"] is None and "Connect" in a["error"] for a in dead["attempts"])
    assert env.mailbox.received == []


async def test_the_message_preview_and_an_address_of_the_institution_s_choosing(env_clean):
    env = env_clean
    institution_id = await register(env, emails=["greffe@defenseur.example.fr", "urgences@defenseur.example.fr"])
    async with env.client(institution_id) as api:
        refused = await api.post("/v1/subscriptions", json={
            "channel": "email", "email_address": "victim@example.org", "event_types": ["*"]})
        assert refused.status_code == 422 and refused.json()["type"].endswith("email-address-not-allowed")
        assert refused.json()["allowed"] == ["greffe@defenseur.example.fr", "urgences@defenseur.example.fr"]
        assert (await api.post("/v1/subscriptions", json={"channel": "email", "url": "http://x/",
                                                          "event_types": ["*"]})).status_code == 422
        chosen = await subscribe(api, email_address="Urgences@defenseur.example.fr",
                                 event_types=["comitas.deadline.reminder"])
        assert chosen["email_address"] == "Urgences@defenseur.example.fr"
        event = reminder(institution_id, reminder_label="overdue")
        await env.publish(event)
        [delivery] = await one_delivery(api, chosen["id"])

        preview = (await api.get(f"/v1/deliveries/{delivery['id']}/message")).json()
        assert preview["to"] == ["Urgences@defenseur.example.fr"] and preview["language"] == "fr"
        assert preview["subject"] == "[Comitas] Échéance dépassée : Requête à la CEDH (CMP-2026-0042)"
        assert preview["message_id"] == f"<{delivery['id']}@comitas.test>" and preview["undeliverable"] is None
        assert env.mailbox.received == []  # a preview sends nothing

        # The institution drops that address from the directory: it is no longer written to, for good.
        env.identity.entries[institution_id]["contact"]["emails"] = ["greffe@defenseur.example.fr"]
        env.identity.entries[institution_id]["version"] = 2
        await env.publish(updated(institution_id, version=2, changed=["contact"]))

        async def dropped():
            return (await api.get("/v1/notification-profile")).json()["addresses"] == ["greffe@defenseur.example.fr"]

        await eventually(dropped, timeout=10)
        assert await env.worker.run_once(env.clock()) == 1
        failed = await detail(api, delivery["id"])
        assert failed["state"] == "failed" and "no longer one of" in failed["last_error"]
        assert env.mailbox.received == []


# --- digests ----------------------------------------------------------------------------------------------


async def test_a_digest_subscription_gets_one_message_for_the_day_s_events(env_clean):
    env = env_clean
    institution_id = await register(env)  # Paris: digests at 08:00 Paris time
    complaint_id = str(uuid.uuid4())
    async with env.client(institution_id) as api:
        daily = await subscribe(api, event_types=["comitas.complaint.*"], delivery_mode="daily_digest")
        each = await subscribe(api, event_types=["comitas.complaint.*"])
        assert daily["delivery_mode"] == "daily_digest" and daily["digest_hour"] is None
        events = [submitted(institution_id, complaint_id=complaint_id, reference="CMP-2026-0101"),
                  activated(institution_id, complaint_id), submitted(institution_id, reference="CMP-2026-0102")]
        for at, event in zip((0, 3, 9), events, strict=True):
            env.clock.set(START + timedelta(hours=at))
            await env.publish(event)
            await one_delivery(api, each["id"], count=events.index(event) + 1)
        [digest] = await deliveries(api, daily["id"])
        assert digest["kind"] == "digest" and digest["state"] == "pending"
        # The period began at 08:00 Paris on 1 December and ends at 08:00 Paris on the 2nd (07:00 UTC).
        assert datetime.fromisoformat(digest["next_attempt_at"]) == datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
        info = (await detail(api, digest["id"]))["digest"]
        assert info["event_ids"] == [e.id for e in events] and info["time_zone"] == "Europe/Paris"

        # Sending: the immediate subscription's three messages go now; the digest waits for its hour.
        assert await env.worker.run_once(env.clock()) == 3
        assert len(env.mailbox.received) == 3
        env.clock.set(datetime(2026, 12, 2, 6, 59, tzinfo=UTC))
        assert await env.worker.run_once(env.clock()) == 0
        env.clock.set(datetime(2026, 12, 2, 7, 0, tzinfo=UTC))
        # An event of the new day goes to the next digest, not to the one being sent.
        late = submitted(institution_id, reference="CMP-2026-0103", at=env.clock())
        await env.publish(late)
        await one_delivery(api, daily["id"], count=2)
        assert await env.worker.run_once(env.clock()) == 2  # the digest, and the late event's own message

        [message] = [r["message"] for r in env.mailbox.received[3:] if "Récapitulatif" in r["message"]["Subject"]]
        assert message["Subject"] == "[Comitas] Récapitulatif du jour : 3 événements"
        text = text_of(message)
        assert "du 1 décembre 2026, 08:00 (Europe/Paris) au 2 décembre 2026, 08:00 (Europe/Paris)" in text
        assert "1. Plainte déposée, dossier " + complaint_id in text
        assert "2. Statut de la plainte modifié, dossier " + complaint_id in text
        assert "Statut : de under_assessment à active" in text
        assert "CMP-2026-0102" in text and "CMP-2026-0103" not in text
        sent = await detail(api, digest["id"])
        assert sent["state"] == "delivered" and sent["digest"]["sealed_at"] is not None
        assert message["Message-ID"] == f"<{digest['id']}@comitas.test>"

        following = [d for d in await deliveries(api, daily["id"]) if d["id"] != digest["id"]]
        assert [d["state"] for d in following] == ["pending"]
        assert (await detail(api, following[0]["id"]))["digest"]["event_ids"] == [late.id]
        assert datetime.fromisoformat(following[0]["next_attempt_at"]) == datetime(2026, 12, 3, 7, 0, tzinfo=UTC)


async def test_a_webhook_digest_is_one_signed_batch_of_cloudevents(env_clean, receiver):
    env = env_clean
    institution_id = await register(env, time_zone="America/Bogota", languages=["es"], language="es")
    async with env.client(institution_id) as api:
        response = await api.post("/v1/subscriptions", json={
            "url": receiver.url, "event_types": ["comitas.complaint.submitted"], "delivery_mode": "daily_digest",
            "digest_hour": 18})
        assert response.status_code == 201, response.text
        hook = response.json()
        assert hook["channel"] == "webhook" and hook["digest_hour"] == 18 and hook["secret"].startswith("whsec_")
        events = [submitted(institution_id), submitted(institution_id)]
        for event in events:
            await env.publish(event)

        async def gathered():
            items = await deliveries(api, hook["id"])
            return items if items and len((await detail(api, items[0]["id"]))["digest"]["event_ids"]) == 2 else None

        [digest] = await eventually(gathered, timeout=10)
        # 10:00 UTC is 05:00 in Bogotá: today's 18:00 there (23:00 UTC) ends the period.
        assert datetime.fromisoformat(digest["next_attempt_at"]) == datetime(2026, 12, 1, 23, 0, tzinfo=UTC)
        env.clock.set(datetime(2026, 12, 1, 23, 0, tzinfo=UTC))
        assert await env.worker.run_once(env.clock()) == 1
    [request] = receiver.requests
    assert request["headers"]["content-type"] == "application/cloudevents-batch+json"
    assert request["headers"]["webhook-id"] == digest["id"]
    payload = Webhook(hook["secret"]).verify(request["body"], request["headers"])
    assert [e["id"] for e in payload] == [e.id for e in events]


# --- filters ----------------------------------------------------------------------------------------------


async def test_subscriptions_filtered_by_case_or_urgency_receive_only_matching_events(env_clean):
    env = env_clean
    institution_id = await register(env)
    watched = str(uuid.uuid4())
    async with env.client(institution_id) as api:
        by_case = await subscribe(api, event_types=["*"], cases=["CMP-2026-0500", watched])
        urgent = await subscribe(api, event_types=["*"], urgency="urgent")
        everything = await subscribe(api, event_types=["*"])
        events = {
            "watched by reference": submitted(institution_id, reference="CMP-2026-0500"),
            "watched by id": activated(institution_id, watched),
            "other": submitted(institution_id, reference="CMP-2026-0501"),
            "other, urgent": submitted(institution_id, reference="CMP-2026-0502", urgency="urgent"),
            "reminder far": reminder(institution_id, case_ref="c-far", reminder_label="d14"),
            "reminder near": reminder(institution_id, case_ref=watched, reminder_label="d1"),
        }
        for event in events.values():
            await env.publish(event)
        await one_delivery(api, everything["id"], count=len(events))

        async def received(subscription: dict[str, Any]) -> set[str]:
            ids = {d["event_id"] for d in await deliveries(api, subscription["id"], limit=100)}
            return {name for name, event in events.items() if event.id in ids}

        assert await received(by_case) == {"watched by reference", "watched by id", "reminder near"}
        assert await received(urgent) == {"other, urgent", "reminder near"}
        assert await received(everything) == set(events)

        # Changed to urgent events of one case only: the next events are filtered that way.
        changed = await api.patch(f"/v1/subscriptions/{everything['id']}", json={"cases": ["c-far"],
                                                                                  "urgency": "urgent"})
        assert changed.status_code == 200, changed.text
        assert changed.json()["cases"] == ["c-far"] and changed.json()["updated_at"] is not None
        near_far = reminder(institution_id, case_ref="c-far", reminder_label="day")
        await env.publish(reminder(institution_id, case_ref="c-far", reminder_label="d7"))
        await env.publish(near_far)
        await one_delivery(api, everything["id"], count=len(events) + 1)
        await asyncio.sleep(0.3)
        assert len(await deliveries(api, everything["id"], limit=100)) == len(events) + 1


async def test_existing_api_stays_as_it_was_and_new_endpoints_are_private(env_clean):
    env = env_clean
    institution_id = await register(env)
    async with env.client(institution_id) as api:
        legacy = await api.post("/v1/subscriptions", json={"url": "http://127.0.0.1:9/hook",
                                                           "event_types": ["comitas.complaint.submitted"]})
        assert legacy.status_code == 201
        body = legacy.json()
        assert (body["channel"], body["delivery_mode"], body["urgency"], body["cases"]) == \
               ("webhook", "immediate", "all", None)
        mail = await subscribe(api, event_types=["comitas.complaint.submitted"])
        await env.publish(submitted(institution_id))
        [delivery] = await one_delivery(api, mail["id"])
        assert (await api.get(f"/v1/deliveries/{delivery['id']}/message")).status_code == 200
        assert (await api.get("/v1/deliveries", params={"channel": "email"})).json()["items"][0]["id"] == \
               delivery["id"]
        not_mail = (await api.get("/v1/deliveries", params={"channel": "webhook", "kind": "digest"})).json()
        assert not_mail["items"] == []
        bad = await api.patch(f"/v1/subscriptions/{mail['id']}", json={"url": "http://127.0.0.1:9/x"})
        assert bad.status_code == 422
        assert (await api.patch(f"/v1/subscriptions/{mail['id']}", json={"event_types": None})).status_code == 422

    other_id = f"inst_{uuid.uuid4().hex[:12]}"
    async with env.client(other_id) as other:
        for method, path, payload in [
            ("PATCH", f"/v1/subscriptions/{mail['id']}", {"urgency": "urgent"}),
            ("PATCH", f"/v1/subscriptions/{body['id']}", {"description": "mine now"}),
            ("GET", f"/v1/deliveries/{delivery['id']}/message", None),
            ("GET", f"/v1/deliveries/{delivery['id']}", None),
            ("POST", f"/v1/deliveries/{delivery['id']}/redeliver", None),
        ]:
            response = await other.request(method, path, json=payload)
            assert response.status_code == 404, (method, path, response.text)
        profile = (await other.get("/v1/notification-profile")).json()
        assert profile["in_directory"] is False and profile["addresses"] == []
        assert (await other.get("/v1/deliveries", params={"channel": "email"})).json()["items"] == []


async def test_the_directory_follows_identity_and_its_versions(env_clean):
    env = env_clean
    institution_id = await register(env)
    requests = env.identity.token_requests
    assert requests and requests[-1]["grant_type"] == "client_credentials"
    assert requests[-1]["scope"] == "directory:read directory:contacts"
    assert requests[-1]["resource"] == "urn:comitas:identity"
    async with env.client(institution_id) as api:
        profile = (await api.get("/v1/notification-profile")).json()
        assert (profile["language"], profile["time_zone"], profile["name"]) == \
               ("fr", "Europe/Paris", "Défenseur des droits")
        # An older version arriving late changes nothing; a newer one does.
        for version, zone in ((3, "America/Cayenne"), (2, "Europe/Madrid")):
            await env.publish(updated(institution_id, version=version, changed=["time_zone"], time_zone=zone))

        async def moved():
            body = (await api.get("/v1/notification-profile")).json()
            return body if body["time_zone"] == "America/Cayenne" else None

        await eventually(moved, timeout=10)
        await asyncio.sleep(0.5)
        assert (await api.get("/v1/notification-profile")).json()["time_zone"] == "America/Cayenne"
