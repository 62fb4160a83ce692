"""Subscriptions through the HTTP API: CRUD, tenancy, scopes, validation, idempotency, secrets at rest."""

from __future__ import annotations

import base64
import uuid

import pytest
from sqlalchemy import text

from comitas_shared.db import Database
from comitas_shared.testing import ServedApp, free_port

TYPES = ["comitas.complaint.submitted"]


def new_body(url: str = "http://127.0.0.1:9/hook", **extra):
    return {"url": url, "event_types": TYPES, **extra}


async def test_create_shows_the_secret_once_and_reads_never_show_it(institution):
    response = await institution.api.post("/v1/subscriptions", json=new_body(description="case desk"))
    assert response.status_code == 201, response.text
    created = response.json()
    assert response.headers["location"] == f"/v1/subscriptions/{created['id']}"
    assert created["secret"].startswith("whsec_")
    assert 24 <= len(base64.b64decode(created["secret"].removeprefix("whsec_"))) <= 32
    assert created["event_types"] == TYPES and created["description"] == "case desk"

    fetched = await institution.api.get(f"/v1/subscriptions/{created['id']}")
    assert fetched.status_code == 200
    assert "secret" not in fetched.json()
    assert fetched.json() == {k: v for k, v in created.items() if k != "secret"}
    listed = await institution.api.get("/v1/subscriptions")
    assert [s["id"] for s in listed.json()["items"]] == [created["id"]]
    assert "secret" not in listed.json()["items"][0]


async def test_the_secret_is_not_in_the_database_in_clear(env, institution):
    response = await institution.api.post("/v1/subscriptions", json=new_body(), headers={"Idempotency-Key": "k-1"})
    secret = response.json()["secret"]
    database = Database(env.database_url)
    try:
        async with database.transaction() as session:
            dump = []
            for table in ("subscription", "idempotency_key"):
                rows = (await session.execute(text(f"SELECT * FROM {table}"))).all()
                dump.extend(str(row) for row in rows)
    finally:
        await database.dispose()
    blob = "\n".join(dump)
    assert response.json()["id"] in blob
    assert secret not in blob and secret.removeprefix("whsec_") not in blob


async def test_list_is_paged_with_a_cursor(institution):
    ids = []
    for _ in range(3):
        ids.append((await institution.api.post("/v1/subscriptions", json=new_body())).json()["id"])
    first = (await institution.api.get("/v1/subscriptions", params={"limit": 2})).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    second = (await institution.api.get("/v1/subscriptions", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert second["next_cursor"] is None
    assert [s["id"] for s in first["items"] + second["items"]] == list(reversed(ids))
    bad = await institution.api.get("/v1/subscriptions", params={"cursor": "nonsense"})
    assert bad.status_code == 422
    too_many = await institution.api.get("/v1/subscriptions", params={"limit": 1000})
    assert too_many.status_code == 422


async def test_delete_then_it_is_gone(institution):
    created = (await institution.api.post("/v1/subscriptions", json=new_body())).json()
    assert (await institution.api.delete(f"/v1/subscriptions/{created['id']}")).status_code == 204
    gone = await institution.api.get(f"/v1/subscriptions/{created['id']}")
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    assert (await institution.api.delete(f"/v1/subscriptions/{created['id']}")).status_code == 404
    assert (await institution.api.get("/v1/subscriptions")).json()["items"] == []


async def test_another_institutions_subscription_answers_404(env, institution):
    created = (await institution.api.post("/v1/subscriptions", json=new_body())).json()
    async with env.client(env.new_institution()) as other:
        assert (await other.get(f"/v1/subscriptions/{created['id']}")).status_code == 404
        assert (await other.delete(f"/v1/subscriptions/{created['id']}")).status_code == 404
        assert (await other.get("/v1/subscriptions")).json()["items"] == []
    assert (await institution.api.get(f"/v1/subscriptions/{created['id']}")).status_code == 200


async def test_without_the_scope_403_and_without_a_token_401(env):
    async with env.client(env.new_institution(), scopes=["deadlines:read"]) as api:
        refused = await api.post("/v1/subscriptions", json=new_body())
        assert refused.status_code == 403
        assert refused.json()["error"] == "insufficient_scope"
        assert "insufficient_scope" in refused.headers["www-authenticate"]
        assert (await api.get("/v1/subscriptions")).status_code == 403
        assert (await api.get("/v1/deliveries")).status_code == 403
    import httpx

    async with httpx.AsyncClient(base_url=env.url) as anonymous:
        response = await anonymous.get("/v1/subscriptions")
        assert response.status_code == 401 and "Bearer" in response.headers["www-authenticate"]


@pytest.mark.parametrize(("body", "slug"), [
    ({"url": "http://127.0.0.1:9/hook", "event_types": ["comitas.complaint.nonsense"]}, "unknown-event-type"),
    ({"url": "http://127.0.0.1:9/hook", "event_types": ["comitas.identity.token_revoked"]}, "unknown-event-type"),
    ({"url": "http://127.0.0.1:9/hook", "event_types": []}, "validation-error"),
    ({"url": "http://127.0.0.1:9/hook", "event_types": TYPES, "secret": "mine"}, "validation-error"),
    ({"event_types": TYPES}, "validation-error"),
    ({"url": "ftp://127.0.0.1/hook", "event_types": TYPES}, "webhook-target-not-allowed"),
])
async def test_invalid_subscriptions_are_refused(institution, body, slug):
    response = await institution.api.post("/v1/subscriptions", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["type"].endswith(slug)


async def test_wildcards_are_accepted(institution):
    response = await institution.api.post("/v1/subscriptions", json=new_body(event_types=["*", "comitas.deadline.*"]))
    assert response.status_code == 201, response.text
    assert response.json()["event_types"] == ["*", "comitas.deadline.*"]


async def test_idempotency_key_replays_the_first_answer(institution):
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = await institution.api.post("/v1/subscriptions", json=new_body(), headers=key)
    again = await institution.api.post("/v1/subscriptions", json=new_body(), headers=key)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()  # the secret too: a client that lost the first answer needs it
    assert len((await institution.api.get("/v1/subscriptions")).json()["items"]) == 1
    other = await institution.api.post("/v1/subscriptions", json=new_body(description="else"), headers=key)
    assert other.status_code == 422 and other.json()["type"].endswith("idempotency-key-reused")


@pytest.fixture(scope="module")
async def strict(notifications_db_url, issuer, tmp_path_factory):
    """The service as outside development: private targets refused. Its own database, and a NATS URL
    nothing listens on, so it answers HTTP but takes no share of the main service's events."""
    from comitas_notifications.main import create_app
    from comitas_notifications.settings import NotificationsSettings
    from comitas_shared import migrations
    from comitas_shared.testing import drop_database, fresh_database_url

    url = fresh_database_url("notifications_strict", tmp_path_factory.mktemp("strict"))
    migrations.upgrade("comitas_notifications", url)
    settings = NotificationsSettings(database_url=url, environment="test", issuer=issuer.url,
                                     nats_url=f"nats://127.0.0.1:{free_port()}")
    served = await ServedApp(create_app(settings)).start()
    yield served
    await served.stop()
    drop_database(url)


@pytest.mark.parametrize("url", [
    "http://hooks.example.org/in",
    "https://127.0.0.1/hook",
    "https://localhost:8443/hook",
    "https://10.20.30.40/hook",
    "https://192.168.0.10/hook",
    "https://[::1]/hook",
    "https://169.254.169.254/latest/meta-data",
    "https://0.0.0.0/hook",
])
async def test_outside_development_only_public_https_targets(strict, issuer, url):
    import httpx

    token = issuer.token(str(uuid.uuid4()))
    async with httpx.AsyncClient(base_url=strict.url, headers={"Authorization": f"Bearer {token}"}) as api:
        response = await api.post("/v1/subscriptions", json={"url": url, "event_types": TYPES})
    assert response.status_code == 422, response.text
    assert response.json()["type"].endswith("webhook-target-not-allowed")


async def test_settings_refuse_private_targets_in_production():
    from pydantic import ValidationError

    from comitas_notifications.settings import NotificationsSettings

    with pytest.raises(ValidationError):
        NotificationsSettings(environment="production", master_key="a-real-production-key-0123456789abcdef",
                              issuer="https://id.example.org", allow_private_webhook_targets=True)
