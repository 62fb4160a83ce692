"""intake's complaint API through real HTTP, with real tokens from identity."""

from __future__ import annotations

import uuid

import httpx
import pytest
from sqlalchemy import func, select

from comitas_shared.db import Database

COMPLAINT = {
    "summary": "Detained at the border and returned without a hearing.",
    "respondent_states": ["FR"],
    "rights_invoked": ["ECHR art 3"],
    "domestic_remedies": [{"description": "Conseil d'Etat appeal", "exhausted": True,
                           "final_decision_date": "2023-10-31", "notification_date": "2023-11-06"}],
    "urgency": {"level": "normal"},
}


async def count_rows(stack, table: str, **where: str) -> int:
    from comitas_intake.models import metadata

    database = Database(stack.database_urls["intake"])
    try:
        t = metadata.tables[table]
        query = select(func.count()).select_from(t)
        for column, value in where.items():
            query = query.where(t.c[column] == value)
        async with database.transaction() as session:
            return (await session.execute(query)).scalar_one()
    finally:
        await database.dispose()


async def test_submit_read_and_list_own_complaints(stack):
    owner = await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        created = await api.post("/v1/complaints", json=COMPLAINT)
        assert created.status_code == 201, created.text
        body = created.json()
        assert body["institution_id"] == owner.institution_id
        assert body["reference"].startswith("CMP-")
        assert body["created_at"].endswith("Z") or body["created_at"].endswith("+00:00")
        assert created.headers["location"] == f"/v1/complaints/{body['id']}"

        read = await api.get(f"/v1/complaints/{body['id']}")
        assert read.status_code == 200
        assert read.json()["summary"] is None and read.json()["protected"] == "withheld"
        read = await api.get(f"/v1/complaints/{body['id']}", headers={"Comitas-Purpose": "case review"})
        assert read.json()["summary"] == COMPLAINT["summary"] and read.json()["protected"] == "shown"
        assert read.json()["status"] == "received" and body["summary"] is None

        listed = await api.get("/v1/complaints")
        assert [c["id"] for c in listed.json()["items"]] == [body["id"]]


async def test_cursor_pages_walk_every_complaint_once(stack):
    owner = await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        ids = [(await api.post("/v1/complaints", json=COMPLAINT)).json()["id"] for _ in range(5)]
        seen, cursor = [], None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = (await api.get("/v1/complaints", params=params)).json()
            assert len(page["items"]) <= 2
            seen += [c["id"] for c in page["items"]]
            cursor = page["next_cursor"]
            if not cursor:
                break
        assert sorted(seen) == sorted(ids) and len(seen) == 5
        assert (await api.get("/v1/complaints", params={"limit": 1000})).status_code == 422
        bad = await api.get("/v1/complaints", params={"cursor": "not-a-cursor"})
        assert bad.status_code == 422 and bad.headers["content-type"] == "application/problem+json"


async def test_another_institution_sees_nothing(stack):
    owner, other = await stack.new_institution(), await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        complaint_id = (await api.post("/v1/complaints", json=COMPLAINT)).json()["id"]
    async with await stack.client_for("intake", other) as api:
        response = await api.get(f"/v1/complaints/{complaint_id}")
        assert response.status_code == 404
        assert response.headers["content-type"] == "application/problem+json"
        assert COMPLAINT["summary"] not in response.text
        assert complaint_id not in [c["id"] for c in (await api.get("/v1/complaints")).json()["items"]]


async def test_missing_scope_is_403_insufficient_scope(stack):
    owner = await stack.new_institution()
    async with await stack.client_for("intake", owner, scope="complaints:read") as api:
        response = await api.post("/v1/complaints", json=COMPLAINT)
    assert response.status_code == 403
    assert response.json()["error"] == "insufficient_scope"
    assert 'error="insufficient_scope"' in response.headers["www-authenticate"]
    assert await count_rows(stack, "complaint", institution_id=owner.institution_id) == 0


async def test_idempotency_key_replays_and_refuses_another_body(stack):
    owner = await stack.new_institution()
    key = str(uuid.uuid4())
    async with await stack.client_for("intake", owner) as api:
        first = await api.post("/v1/complaints", json=COMPLAINT, headers={"Idempotency-Key": key})
        again = await api.post("/v1/complaints", json=COMPLAINT, headers={"Idempotency-Key": key})
        other = await api.post("/v1/complaints", json=COMPLAINT | {"summary": "something else"},
                               headers={"Idempotency-Key": key})
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    assert other.status_code == 422 and other.json()["type"].endswith("idempotency-key-reused")
    assert await count_rows(stack, "complaint", institution_id=owner.institution_id) == 1
    assert await count_rows(stack, "outbox", institution_id=owner.institution_id) == 1


async def test_same_key_from_another_institution_is_another_request(stack):
    a, b = await stack.new_institution(), await stack.new_institution()
    key = str(uuid.uuid4())
    async with await stack.client_for("intake", a) as api:
        first = await api.post("/v1/complaints", json=COMPLAINT, headers={"Idempotency-Key": key})
    async with await stack.client_for("intake", b) as api:
        second = await api.post("/v1/complaints", json=COMPLAINT, headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


BAD_BODIES = [
    pytest.param(b'{"summary": "x", ', "", id="malformed-json"),
    pytest.param(b'{"summary": 42}', "/summary", id="wrong-type"),
    pytest.param(b'{"summary": "x", "respondent_states": ["France"]}', "/respondent_states/0", id="bad-code"),
    pytest.param(b'{"summary": "x", "victim_passport": "123"}', "/victim_passport", id="unknown-field"),
    pytest.param(b'{"summary": "x", "domestic_remedies": [{"description": "a", "final_decision_date": "31/01/2022"}]}',
                 "/domestic_remedies/0/final_decision_date", id="nested-bad-date"),
    pytest.param(b'{"summary": "x", "other_procedures": [{"mechanism": "zz_", "status": "pending"}]}',
                 "/other_procedures/0/mechanism", id="unknown-procedure"),
]


@pytest.mark.parametrize(("body", "pointer"), BAD_BODIES)
async def test_bad_input_is_problem_json_with_pointer_and_writes_nothing(stack, body, pointer):
    owner = await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        response = await api.post("/v1/complaints", content=body, headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    problem = response.json()
    assert problem["type"].endswith("/validation-error")
    assert pointer in [e.get("pointer") for e in problem["errors"]]
    assert await count_rows(stack, "complaint", institution_id=owner.institution_id) == 0
    assert await count_rows(stack, "outbox", institution_id=owner.institution_id) == 0


@pytest.mark.parametrize("field", ["summary", "respondent_states", "rights_invoked", "domestic_remedies",
                                   "other_procedures", "urgency", "filer", "events_continuing", "victims", "actors",
                                   "incidents", "rights", "relief", "disclosure", "languages",
                                   "no_other_procedures"])
async def test_patching_a_required_fact_to_null_is_refused_and_changes_nothing(stack, field):
    """An explicit null where a complaint always has a value is a 422 with its pointer (it was a 500)."""
    owner = await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        created = (await api.post("/v1/complaints", json={"summary": "Held for nine days.",
                                                          "respondent_states": ["FR"]})).json()
        before = (await api.get(f"/v1/complaints/{created['id']}")).json()
        response = await api.patch(f"/v1/complaints/{created['id']}", json={field: None})
        assert response.status_code == 422, response.text
        assert f"/{field}" in [e.get("pointer") for e in response.json()["errors"]]
        assert (await api.get(f"/v1/complaints/{created['id']}")).json() == before


async def test_dates_may_be_cleared_and_known_procedures_are_accepted(stack):
    owner = await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        created = (await api.post("/v1/complaints", json={
            "summary": "Held for nine days.", "respondent_states": ["FR"], "events_date": "2026-01-05",
            "other_procedures": [{"mechanism": "wgeid", "status": "pending"}]})).json()
        assert created["other_procedures"][0]["mechanism"] == "wgeid"
        cleared = await api.patch(f"/v1/complaints/{created['id']}", json={"events_date": None})
        assert cleared.status_code == 200 and cleared.json()["events_date"] is None
        assessed = await api.post(f"/v1/complaints/{created['id']}/assessments")
        assert assessed.status_code == 201, assessed.text


async def test_oversize_body_is_413_and_writes_nothing(stack):
    owner = await stack.new_institution()
    huge = {"summary": "x" * 2_000_000}
    async with await stack.client_for("intake", owner) as api:
        response = await api.post("/v1/complaints", json=huge)
        chunked = await api.post("/v1/complaints", content=_chunks(b'{"summary": "' + b"x" * 1_500_000 + b'"}'),
                                 headers={"content-type": "application/json"})
    for r in (response, chunked):
        assert r.status_code == 413
        assert r.headers["content-type"] == "application/problem+json"
    assert await count_rows(stack, "complaint", institution_id=owner.institution_id) == 0


async def _chunks(data: bytes):
    for i in range(0, len(data), 64 * 1024):
        yield data[i:i + 64 * 1024]


async def test_health_and_openapi(stack):
    async with httpx.AsyncClient(base_url=stack.intake.url) as http:
        assert (await http.get("/healthz")).json() == {"status": "ok"}
        ready = await http.get("/readyz")
        assert ready.status_code == 200, ready.text
        spec = (await http.get("/openapi.json")).json()
        assert "/v1/complaints" in spec["paths"]


async def test_a_retry_while_the_first_request_runs_is_409_and_writes_nothing(stack):
    """The first request's claim is visible to a concurrent retry: here it is planted as a request
    still running would leave it, since holding a real request open mid-flight is not observable."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from comitas_intake.complaints.schemas import ComplaintCreate
    from comitas_intake.models import tables
    from comitas_shared.idempotency import request_hash

    owner = await stack.new_institution()
    key = str(uuid.uuid4())
    now = datetime.now(UTC)
    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            await session.execute(insert(tables.idempotency).values(
                institution_id=owner.institution_id, operation="complaints.submit", key=key,
                request_hash=request_hash(ComplaintCreate.model_validate(COMPLAINT).model_dump(mode="json")),
                state="running", created_at=now, locked_until=now + timedelta(minutes=1)))
    finally:
        await database.dispose()
    async with await stack.client_for("intake", owner) as api:
        response = await api.post("/v1/complaints", json=COMPLAINT, headers={"Idempotency-Key": key})
    assert response.status_code == 409
    assert response.json()["type"].endswith("/idempotency-key-in-use")
    assert await count_rows(stack, "complaint", institution_id=owner.institution_id) == 0
