"""The complaint as the forums need it, through intake's HTTP API with real tokens: every section round
trips; identities and narratives are sealed (a dump of the database shows none of them), read only with
complaints:pii and a stated purpose (and audited), and destroyed by erasure; the lifecycle, referrals
and filings; completeness per forum; bad input writes nothing; the assessment reads structured rights."""

from __future__ import annotations

import json
import os
import subprocess
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from sqlalchemy import func, select, text

from comitas_shared.db import Database

PURPOSE = {"Comitas-Purpose": "preparing the ECtHR application"}


def unique(prefix: str) -> str:
    """A value no other test writes, so finding it in a dump means this test's data leaked."""
    return f"{prefix}{uuid.uuid4().hex[:10]}"


def full_complaint() -> tuple[dict, list[str]]:
    """A complaint with every section, and the identifying strings it holds."""
    name, relative, lawyer = unique("Amina Vx"), unique("Omar Vx"), unique("Maitre Vx")
    email, phone, passport = f"{unique('v')}@example.org", f"+33 6 {uuid.uuid4().int % 10**8:08d}", unique("P")
    narrative, place = unique("Beaten in the van near the river, story "), unique("Lyon quarter ")
    body = {
        "summary": f"{name} was arrested at home and beaten; {narrative}",
        "respondent_states": ["FR"],
        "victims": [
            {"kind": "person", "name": name, "other_names": [unique("alias ")], "birth_date": "1987-03-14",
             "sex": "female", "nationalities": ["SN", "FR"], "occupation": "nurse",
             "addresses": [{"text": f"12 rue {unique('Street')}", "country": "FR"}],
             "contacts": [{"kind": "email", "value": email}, {"kind": "phone", "value": phone, "safe_to_use": False}],
             "identity_documents": [{"kind": "passport", "number": passport, "issuing_state": "SN",
                                     "issued_on": "2019-05-02"}],
             "minor": False},
            {"kind": "person", "name": relative, "birth_date": "2012-07-01", "minor": True, "deceased": False,
             "nationalities": ["FR"], "addresses": [{"text": f"12 rue {unique('Street')}", "country": "FR"}]},
        ],
        "representative": {"kind": "lawyer", "name": lawyer, "organisation": unique("Cabinet "),
                           "addresses": [{"text": f"3 quai {unique('Q')}", "country": "FR"}],
                           "contacts": [{"kind": "email", "value": f"{unique('l')}@example.org"},
                                        {"kind": "phone", "value": "+33 1 00 00 00 00"}],
                           "authority": {"kind": "signed_authority_form", "victim_signed_on": "2026-11-02",
                                         "representative_signed_on": "2026-11-03"}},
        "petitioner": {"kind": "relative", "relationship": "sibling", "name": unique("Sister Vx"),
                       "contacts": [{"kind": "email", "value": f"{unique('s')}@example.org"}], "confidential": True},
        "actors": [{"role": "alleged_perpetrator", "kind": "state_agent", "state": "FR", "name": unique("Officer "),
                    "description": "police unit on duty that night"},
                   {"role": "authority_informed", "kind": "public_authority", "state": "FR"}],
        "incidents": [
            {"start": "2026-09-30", "precision": "day", "country": "FR", "place": place, "narrative": narrative,
             "act_types": ["030101", "020101"], "victims": [0, 1], "actors": [0]},
            {"start": "2026-10-01", "end": "2026-10-09", "precision": "day", "ongoing": False, "country": "FR",
             "act_types": ["03010201"], "victims": [0]},
        ],
        "rights": [{"instrument": "ECHR", "article": "3", "note": f"{name} was beaten"},
                   {"instrument": "ECHR", "article": "5"}],
        "rights_invoked": ["ECHR art 3"],
        "domestic_remedies": [{"description": "Cour de cassation", "exhausted": True, "nature": "ordinary",
                               "final_decision_date": "2026-10-30", "notification_date": "2026-11-04"}],
        "other_procedures": [],
        "no_other_procedures": True,
        "relief": {"sought": ["investigation", "prosecution", "compensation", "rehabilitation", "acknowledgement",
                              "apology", "guarantees_of_non_repetition"], "details": f"{name} asks for an apology"},
        "urgency": {"level": "urgent", "detention": True, "threats": True, "reprisals_risk": True,
                    "imminent_removal": True, "removal_date": "2027-01-20", "interim_measures_requested": True,
                    "interim_measures_body": "echr", "details": f"{relative} receives threats"},
        "disclosure": {"receiving_body": "allowed", "respondent_state": "withheld", "public": "withheld",
                       "reasons": f"{name} fears reprisals", "coordination": True},
        "languages": {"spoken": ["fr", "wo"], "preferred": "fr", "interpreter_needed": True, "submission": "fr"},
        "filer": {"kind": "individual", "is_victim": False},
        "signed_on": "2026-11-05",
        "events_date": "2026-09-30",
        "events_continuing": False,
    }
    secrets = [name, relative, lawyer, email, phone, passport, narrative, place, "1987-03-14", "2012-07-01",
               body["petitioner"]["name"], body["actors"][0]["name"]]
    return body, secrets


def without_nulls(value):
    if isinstance(value, dict):
        return {k: without_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [without_nulls(v) for v in value]
    return value


async def rows(stack, query: str, **params) -> list:
    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            return list((await session.execute(text(query), params)).all())
    finally:
        await database.dispose()


async def count(stack, table: str, **where: str) -> int:
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


async def events_about(stack, complaint_id: str) -> list[tuple[str, dict]]:
    """(type, data) of every event the outbox holds about the complaint, oldest first."""
    found = []
    for type_, envelope in await rows(stack, "SELECT event_type, envelope FROM outbox ORDER BY seq"):
        envelope = json.loads(envelope) if isinstance(envelope, str) else envelope
        if envelope.get("subject") == complaint_id:
            found.append((type_, envelope.get("data") or {}))
    return found


def dump(stack) -> bytes:
    """Every byte the intake database holds: the SQLite file (with its journal), or pg_dump's output."""
    url = stack.database_urls["intake"]
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal"), Path(f"{path}-journal")) if p.exists())
    parts = urlsplit(url.replace("postgresql+asyncpg://", "postgresql://"))
    result = subprocess.run(["pg_dump", "-h", parts.hostname or "127.0.0.1", "-p", str(parts.port or 5432),
                             "-U", parts.username or "postgres", "--no-owner", parts.path.lstrip("/")],
                            capture_output=True, check=True, env={**os.environ, "PGPASSWORD": parts.password or ""})
    return result.stdout


# --- 1. every section round-trips; a lacking complaint is a draft with what is missing -------------------


async def test_a_complaint_with_every_section_round_trips(stack):
    owner = await stack.new_institution()
    body, _ = full_complaint()
    async with await stack.client_for("intake", owner) as api:
        created = await api.post("/v1/complaints", json=body)
        assert created.status_code == 201, created.text
        complaint_id = created.json()["id"]
        read = await api.get(f"/v1/complaints/{complaint_id}", headers=PURPOSE)
        assert read.status_code == 200, read.text
        shown = read.json()
    assert shown["protected"] == "shown" and shown["status"] == "received"
    from comitas_intake.complaints.schemas import ComplaintCreate

    for section, value in ComplaintCreate.model_validate(body).model_dump(mode="json").items():
        assert without_nulls(shown[section]) == without_nulls(value), section
    assert shown["victims_count"] == 2 and shown["draft"] is False


async def test_a_complaint_lacking_what_the_forums_require_is_a_draft_and_completeness_names_each_item(stack):
    owner = await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        created = await api.post("/v1/complaints", json={"summary": "Held for nine days.",
                                                         "respondent_states": ["AR"]})
        assert created.status_code == 201, created.text
        assert created.json()["draft"] is True
        complaint_id = created.json()["id"]
        echr = (await api.get(f"/v1/complaints/{complaint_id}/completeness", params={"forum": "echr"})).json()
        iachr = (await api.get(f"/v1/complaints/{complaint_id}/completeness", params={"forum": "iachr"})).json()
        unknown = await api.get(f"/v1/complaints/{complaint_id}/completeness", params={"forum": "nowhere"})
    assert echr["complete"] is False and iachr["complete"] is False
    by_id = {m["requirement_id"]: m for m in echr["missing"]}
    assert {"a.victim", "f.violations", "g.exhaustion", "g.final_decision", "g.other_procedures"} <= by_id.keys()
    assert by_id["f.violations"]["rule"]["provision"] == "Rules of Court, Rule 47 §1(f)"
    assert by_id["f.violations"]["field"] == "/rights" and by_id["f.violations"]["rule"]["status"] == "confirmed"
    assert {"d.respondent", "e.facts"} <= set(echr["met"])
    iachr_missing = {m["requirement_id"]: m for m in iachr["missing"]}
    assert {"28.1.name", "28.2.identity_to_state", "28.3.email", "28.4.place_date"} <= iachr_missing.keys()
    assert iachr_missing["28.2.identity_to_state"]["rule"]["provision"] == "IACHR Rules of Procedure, Art 28(2)"
    assert iachr_missing["28.5.victim"]["level"] == "if_possible"
    assert unknown.status_code == 422


async def test_a_complete_echr_application_is_complete_for_the_court(stack):
    owner = await stack.new_institution()
    body, _ = full_complaint()
    async with await stack.client_for("intake", owner) as api:
        complaint_id = (await api.post("/v1/complaints", json=body)).json()["id"]
        echr = (await api.get(f"/v1/complaints/{complaint_id}/completeness", params={"forum": "echr"})).json()
    assert echr["complete"] is True, echr["missing"]


# --- 2. sealed at rest; erased for good; statistics stay; master-key rotation ------------------------------


async def test_a_dump_of_the_database_holds_no_identity_or_narrative_and_erasure_is_for_good(stack):
    from comitas_intake.protection import service as protection
    from comitas_intake.protection.crypto import ComplaintCipher, UnreadableCiphertext

    owner = await stack.new_institution()
    body, secrets = full_complaint()
    async with await stack.client_for("intake", owner) as api:
        complaint_id = (await api.post("/v1/complaints", json=body)).json()["id"]
        assert (await api.get(f"/v1/complaints/{complaint_id}", headers=PURPOSE)).json()["victims"][0]["name"] \
            == body["victims"][0]["name"]
        # Changes are sealed too.
        patched = await api.patch(f"/v1/complaints/{complaint_id}", json={"summary": f"{secrets[0]} again",
                                                                          "incidents": body["incidents"]})
        assert patched.status_code == 200, patched.text
    raw = dump(stack)
    assert complaint_id.encode() in raw  # the dump is of the right database
    for secret in secrets:
        assert secret.encode() not in raw, f"{secret!r} is in the database in clear"
    sealed_before = (await rows(stack, "SELECT sealed FROM complaint WHERE id = :id", id=complaint_id))[0][0]
    sealed_before = json.loads(sealed_before) if isinstance(sealed_before, str) else sealed_before
    assert await count(stack, "statistics_case", complaint_id=complaint_id) == 1
    assert await count(stack, "duplicate_index", complaint_id=complaint_id) > 0

    async with await stack.client_for("intake", owner) as api:
        erased = await api.post(f"/v1/complaints/{complaint_id}/erasure",
                                json={"reason": "the victim asked for erasure by letter of 2 Dec", "requested_by": "victim"})
        assert erased.status_code == 200, erased.text
        assert erased.json()["key_destroyed"] is True
        again = await api.post(f"/v1/complaints/{complaint_id}/erasure", json={"reason": "once more please"})
        read = (await api.get(f"/v1/complaints/{complaint_id}", headers=PURPOSE)).json()
        patch = await api.patch(f"/v1/complaints/{complaint_id}", json={"summary": "new facts"})
        audit = (await api.get("/v1/audit")).json()["items"]
    assert again.status_code == 409
    assert patch.status_code == 410
    assert read["protected"] == "erased" and read["summary"] is None and read["victims"] == []
    assert read["erased_at"] and read["respondent_states"] == ["FR"]
    entry = next(e for e in audit if e["action"] == "complaint.erased")
    assert entry["subject_id"] == complaint_id and entry["purpose"].startswith("the victim asked")

    # The ciphertext may still sit in a backup: without the key, nothing opens it, master key or not.
    keys = await rows(stack, "SELECT wrapped_key, master_key_id, destroyed_at FROM complaint_key "
                             "WHERE complaint_id = :id", id=complaint_id)
    assert keys[0][0] is None and keys[0][1] is None and keys[0][2] is not None
    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            with pytest.raises(protection.ComplaintErased):
                await protection.cipher_for(session, stack.intake.app.state.keyring,
                                            institution_id=owner.institution_id, complaint_id=complaint_id)
    finally:
        await database.dispose()
    with pytest.raises(UnreadableCiphertext):  # a guessed key (here: a fresh one) opens nothing either
        ComplaintCipher(complaint_id, os.urandom(32)).open(sealed_before["victims"], field="victims")
    raw = dump(stack)
    for secret in secrets:
        assert secret.encode() not in raw
    # Statistics still count the case; its possible-duplicate index rows are gone.
    assert await count(stack, "statistics_case", complaint_id=complaint_id) == 1
    assert await count(stack, "duplicate_index", complaint_id=complaint_id) == 0
    erased_events = [data for type_, data in await events_about(stack, complaint_id)
                     if type_ == "comitas.complaint.erased"]
    assert len(erased_events) == 1 and "letter" not in str(erased_events[0])


async def test_after_a_master_key_rotation_old_complaints_still_decrypt_through_the_api(stack):
    from comitas_intake.protection import service as protection
    from comitas_intake.protection.crypto import KeyRing

    app = stack.intake.app
    settings = app.state.settings
    original_ring = app.state.keyring
    old = settings.master_key.get_secret_value()
    new = "rotated-master-key-for-the-test-" + uuid.uuid4().hex
    blind = settings.blind_index_key.get_secret_value()
    owner = await stack.new_institution()
    body, _ = full_complaint()
    async with await stack.client_for("intake", owner) as api:
        complaint_id = (await api.post("/v1/complaints", json=body)).json()["id"]
    database = Database(stack.database_urls["intake"])
    try:
        # The new key is deployed first, the old one still listed; then every key is re-wrapped.
        app.state.keyring = KeyRing(new, [old], blind_index_secret=blind)
        assert await protection.rewrap_all(database, app.state.keyring, now=settings_now()) >= 1
        app.state.keyring = KeyRing(new, blind_index_secret=blind)  # the old key is gone
        async with await stack.client_for("intake", owner) as api:
            read = await api.get(f"/v1/complaints/{complaint_id}", headers=PURPOSE)
        assert read.status_code == 200, read.text
        assert read.json()["victims"][0]["name"] == body["victims"][0]["name"]
        wrapped_by = await rows(stack, "SELECT master_key_id FROM complaint_key WHERE complaint_id = :id",
                                id=complaint_id)
        assert wrapped_by[0][0] == app.state.keyring.current.key_id != original_ring.current.key_id
    finally:
        # Back to the stack's own key for the tests that follow.
        await protection.rewrap_all(database, KeyRing(old, [new], blind_index_secret=blind), now=settings_now())
        app.state.keyring = original_ring
        await database.dispose()


def settings_now():
    from comitas_shared.clock import real_now

    return real_now()


# --- 3. identities only with complaints:pii and a purpose, and audited ------------------------------------


async def test_identities_need_the_pii_scope_and_a_purpose_and_each_read_is_audited(stack):
    owner = await stack.new_institution()
    body, secrets = full_complaint()
    async with await stack.client_for("intake", owner) as api:
        complaint_id = (await api.post("/v1/complaints", json=body)).json()["id"]
        entries_before = len((await api.get("/v1/audit", params={"limit": 100})).json()["items"])
    read_only = "complaints:read complaints:manage"
    async with await stack.client_for("intake", owner, scope=read_only) as api:
        no_scope = await api.get(f"/v1/complaints/{complaint_id}", headers=PURPOSE)
        no_scope_query = await api.get(f"/v1/complaints/{complaint_id}", params={"purpose": "case review"})
        plain = await api.get(f"/v1/complaints/{complaint_id}")
    async with await stack.client_for("intake", owner) as api:
        no_purpose = await api.get(f"/v1/complaints/{complaint_id}")
        blank_purpose = await api.get(f"/v1/complaints/{complaint_id}", params={"purpose": "  "})
        listed = await api.get("/v1/complaints")
        entries_between = len((await api.get("/v1/audit", params={"limit": 100})).json()["items"])
        shown = await api.get(f"/v1/complaints/{complaint_id}", headers=PURPOSE)
        by_query = await api.get(f"/v1/complaints/{complaint_id}", params={"purpose": "answering the victim"})
        audit = (await api.get("/v1/audit", params={"limit": 100})).json()["items"]
    for refused in (no_scope, no_scope_query):
        assert refused.status_code == 403 and refused.json()["error"] == "insufficient_scope"
        assert "complaints:pii" in refused.headers["www-authenticate"]
    assert blank_purpose.status_code == 422
    for withheld in (plain, no_purpose, listed):
        assert withheld.status_code == 200
        for secret in secrets:
            assert secret not in withheld.text
    assert no_purpose.json()["protected"] == "withheld" and no_purpose.json()["victims"][0]["name"] is None
    assert no_purpose.json()["victims"][0]["minor"] is False  # what is not identifying stays visible
    assert entries_between == entries_before  # nothing read, nothing recorded
    assert shown.json()["protected"] == "shown" and by_query.json()["victims"][1]["name"] == secrets[1]
    reads = [e for e in audit if e["action"] == "pii.read" and e["subject_id"] == complaint_id]
    assert [e["purpose"] for e in reads] == ["answering the victim", PURPOSE["Comitas-Purpose"]]
    assert all(e["actor"]["client_id"] == owner.client_id for e in reads)
    for secret in secrets:
        assert secret not in str(audit)


# --- 7. bad input is problem+json with pointers and writes nothing ------------------------------------------

BAD = [
    pytest.param({"incidents": [{"start": "2099-01-01"}]}, "/incidents/0/start", id="incident-in-the-future"),
    pytest.param({"domestic_remedies": [{"description": "appeal", "final_decision_date": "2099-01-01"}]},
                 "/domestic_remedies/0/final_decision_date", id="decision-in-the-future"),
    pytest.param({"domestic_remedies": [{"description": "appeal", "final_decision_date": "2026-10-10",
                                         "notification_date": "2026-10-01"}]},
                 "/domestic_remedies/0/notification_date", id="notified-before-taken"),
    pytest.param({"incidents": [{"start": "2026-10-01", "act_types": ["999999"]}]}, "/incidents/0/act_types/0",
                 id="unknown-act-type"),
    pytest.param({"rights": [{"instrument": "ICCPR", "article": "99"}]}, "/rights/0/article", id="unknown-article"),
    pytest.param({"rights": [{"instrument": "UDHR", "article": "1"}]}, "/rights/0/instrument",
                 id="unknown-instrument"),
    pytest.param({"respondent_states": ["QQ"]}, "/respondent_states/0", id="iso-code-that-does-not-exist"),
    pytest.param({"incidents": [{"start": "2026-10-05", "end": "2026-10-01"}]}, "/incidents/0/end",
                 id="range-ends-before-it-starts"),
    pytest.param({"languages": {"spoken": ["xx"]}}, "/languages/spoken/0", id="unknown-language"),
]


@pytest.mark.parametrize(("body", "pointer"), BAD)
async def test_bad_facts_are_problem_json_with_pointers_and_write_nothing(stack, body, pointer):
    owner = await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        response = await api.post("/v1/complaints", json={"summary": "x", **body},
                                  headers={"Idempotency-Key": str(uuid.uuid4())})
        created = (await api.post("/v1/complaints", json={"summary": "x"})).json()
        patched = await api.patch(f"/v1/complaints/{created['id']}", json=body)
        after = await api.get(f"/v1/complaints/{created['id']}")
    for refused in (response, patched):
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith("/validation-error")
        assert pointer in [e.get("pointer") for e in refused.json()["errors"]]
    assert after.json()["version"] == 1
    # Only the one good complaint, its key, its event and its count exist.
    for table in ("complaint", "complaint_key", "outbox", "statistics_case", "idempotency_key"):
        assert await count(stack, table, institution_id=owner.institution_id) == (0 if table == "idempotency_key" else 1)


# --- lifecycle, referrals and filings --------------------------------------------------------------------


async def test_the_lifecycle_through_the_api_with_409_from_states_that_do_not_allow_it(stack):
    owner = await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        complaint_id = (await api.post("/v1/complaints", json={"summary": "x", "respondent_states": ["FR"]})).json()["id"]

        async def act(action: str, **extra):
            return await api.post(f"/v1/complaints/{complaint_id}/status", json={"action": action, **extra})

        assert (await act("activate")).status_code == 409
        assert (await act("start_assessment")).json()["status"] == "under_assessment"
        assert (await act("activate")).json()["status"] == "active"
        no_reason = await act("close")
        assert no_reason.status_code == 422 and no_reason.json()["errors"][0]["pointer"] == "/reason"
        closed = (await act("close", reason="resolved")).json()
        assert closed["status"] == "closed" and closed["status_reason"] == "resolved"
        refused = await act("withdraw")
        assert refused.status_code == 409 and refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith("/invalid-transition")
        assert (await act("reopen")).json()["status"] == "under_assessment"
        assert (await act("withdraw")).json()["status"] == "withdrawn"
        assert (await act("reopen")).status_code == 409
    events = [data for type_, data in await events_about(stack, complaint_id)
              if type_ == "comitas.complaint.status_changed"]
    assert [e["to_status"] for e in events] == ["under_assessment", "active", "closed", "under_assessment",
                                                "withdrawn"]
    statistics = await rows(stack, "SELECT status FROM statistics_case WHERE complaint_id = :id", id=complaint_id)
    assert statistics == [("withdrawn",)]


async def test_referrals_and_filings_are_child_records_several_at_once_each_with_its_state(stack):
    owner, other = await stack.new_institution(), await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        complaint_id = (await api.post("/v1/complaints", json={"summary": "x", "respondent_states": ["FR"]})).json()["id"]
        base = f"/v1/complaints/{complaint_id}"
        echr = await api.post(f"{base}/filings", json={"mechanism": "echr"}, headers={"Idempotency-Key": "f-1"})
        replay = await api.post(f"{base}/filings", json={"mechanism": "echr"}, headers={"Idempotency-Key": "f-1"})
        ccpr = await api.post(f"{base}/filings", json={"mechanism": "ccpr"})
        referral = await api.post(f"{base}/referrals", json={"to_institution_id": other.institution_id})
        to_self = await api.post(f"{base}/referrals", json={"to_institution_id": owner.institution_id})
        unknown = await api.post(f"{base}/filings", json={"mechanism": "nowhere"})
        assert echr.status_code == ccpr.status_code == referral.status_code == 201, echr.text
        assert replay.json() == echr.json()
        assert to_self.status_code == 422 and unknown.status_code == 422
        filing_id, referral_id = echr.json()["id"], referral.json()["id"]
        filed = await api.post(f"{base}/filings/{filing_id}/status", json={"action": "file", "on": "2026-11-20"})
        registered = await api.post(f"{base}/filings/{filing_id}/status",
                                    json={"action": "register", "reference": "12345/26"})
        wrong_kind = await api.post(f"{base}/filings/{filing_id}/status", json={"action": "send"})
        too_early = await api.post(f"{base}/referrals/{referral_id}/status", json={"action": "accept"})
        sent = await api.post(f"{base}/referrals/{referral_id}/status", json={"action": "send"})
        crossed = await api.post(f"{base}/referrals/{filing_id}/status", json={"action": "send"})
        filings = (await api.get(f"{base}/filings")).json()
        referrals = (await api.get(f"{base}/referrals")).json()
    assert filed.json()["status"] == "filed" and filed.json()["occurred_on"] == "2026-11-20"
    assert registered.json()["status"] == "registered" and registered.json()["reference"] == "12345/26"
    assert wrong_kind.status_code == 409 and too_early.status_code == 409
    assert sent.json()["status"] == "sent" and crossed.status_code == 404
    assert [(f["target"], f["status"]) for f in filings] == [("echr", "registered"), ("ccpr", "preparing")]
    assert [(r["target"], r["status"]) for r in referrals] == [(other.institution_id, "sent")]
    types = [type_ for type_, _ in await events_about(stack, complaint_id)]
    assert types.count("comitas.complaint.filing_changed") == 4
    assert types.count("comitas.complaint.referral_changed") == 2


# --- 9. the assessment reads structured rights --------------------------------------------------------------

ICCPR_ONLY = {
    "summary": "Beaten in custody.",
    "respondent_states": ["AR"],
    "rights": [{"instrument": "ICCPR", "article": "7"}],
    "domestic_remedies": [{"description": "Corte Suprema", "exhausted": True, "final_decision_date": "2026-10-01",
                           "notification_date": "2026-10-05"}],
}


async def test_a_complaint_invoking_only_iccpr_article_7_gets_neither_cerd_nor_cescr_recommended(stack):
    owner = await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        structured = (await api.post("/v1/complaints", json=ICCPR_ONLY)).json()["id"]
        free_text = (await api.post("/v1/complaints", json={
            **{k: v for k, v in ICCPR_ONLY.items() if k != "rights"}, "rights_invoked": ["ICCPR Art 7"]})).json()["id"]
        by_structure = (await api.post(f"/v1/complaints/{structured}/assessments")).json()
        by_words = (await api.post(f"/v1/complaints/{free_text}/assessments")).json()
    recommended = {r["mechanism"] for r in by_structure["result"]["recommendations"]}
    assert "ccpr" in recommended
    assert not recommended & {"cerd", "cescr"}, recommended
    # The same words in free text are only a guess, and those bodies stay in (last, with a warning).
    assert {"cerd", "cescr"} <= {r["mechanism"] for r in by_words["result"]["recommendations"]}
    cerd = next(f for f in by_structure["result"]["findings"] if f["mechanism"] == "cerd")
    assert cerd["rights_match"] == "no"
