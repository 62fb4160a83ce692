"""Possible duplicates through the running stack: flagged on both sides between consenting non-state
institutions without either side seeing the other's data; nothing said to or about a state central
authority; erasure takes the index rows and every notice with it.

The complaints are submitted through the API; the platform's indexing is driven here through
``duplicates.service`` (what intake's consumer of comitas.complaint.submitted calls after a submission,
and a correction calls in its request), with the app's own key ring; the last tests go through the
consumer itself.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy import text as sql

from comitas_intake.duplicates import service
from comitas_intake.protection.crypto import KeyRing
from comitas_shared.auth import InstitutionId
from comitas_shared.db import Database
from comitas_shared.testing import eventually

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
COMPLAINT = {
    "summary": "Detained at the border and returned without a hearing.",
    "respondent_states": ["FR"],
    "rights_invoked": ["ECHR art 3"],
    "urgency": {"level": "normal"},
}


async def submit(stack, who) -> str:
    """A complaint through the API, once intake's consumer has indexed it (from its facts: no victims,
    no incidents), so that what a test indexes by hand afterwards is not replaced by that."""
    async with await stack.client_for("intake", who) as api:
        response = await api.post("/v1/complaints", json=COMPLAINT)
        assert response.status_code == 201, response.text
    complaint_id = response.json()["id"]
    await eventually(lambda: consumed(stack, complaint_id), timeout=30)
    return complaint_id


async def consumed(stack, complaint_id: str) -> bool:
    """Whether intake's indexing consumer has handled the complaint's ``comitas.complaint.submitted``."""
    from comitas_intake.complaints.consumers import INDEXING_CONSUMER

    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            found = await session.execute(sql(
                "SELECT count(*) FROM inbox JOIN outbox ON outbox.event_id = inbox.event_id "
                "WHERE inbox.consumer = :consumer AND outbox.event_type = 'comitas.complaint.submitted' "
                "AND CAST(outbox.envelope AS TEXT) LIKE :complaint"),
                {"consumer": INDEXING_CONSUMER, "complaint": f"%{complaint_id}%"})
            return bool(found.scalar_one())
    finally:
        await database.dispose()


async def index(stack, who, complaint_id: str, *, kind: str | None, persons=(), incidents=(), consent=True):
    keyring: KeyRing = stack.intake.app.state.keyring
    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            return await service.index_complaint(
                session, keyring, institution_id=InstitutionId(who.institution_id), institution_kind=kind,
                complaint_id=complaint_id, persons=list(persons), incidents=list(incidents),
                coordination_consent=consent, now=NOW)
    finally:
        await database.dispose()


async def forget(stack, who, complaint_id: str) -> None:
    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            await service.forget_complaint(session, institution_id=InstitutionId(who.institution_id),
                                           complaint_id=complaint_id)
    finally:
        await database.dispose()


async def holds(stack, who, persons=(), incidents=()) -> bool:
    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            return await service.holds_match(session, stack.intake.app.state.keyring,
                                             institution_id=InstitutionId(who.institution_id),
                                             persons=list(persons), incidents=list(incidents))
    finally:
        await database.dispose()


async def index_rows(stack, complaint_id: str) -> int:
    from comitas_intake.duplicates.models import DuplicateIndexEntry

    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            query = select(func.count()).select_from(DuplicateIndexEntry).where(
                DuplicateIndexEntry.complaint_id == complaint_id)
            return (await session.execute(query)).scalar_one()
    finally:
        await database.dispose()


async def notices(stack, who, complaint_id: str):
    async with await stack.client_for("intake", who, scope="complaints:read") as api:
        response = await api.get(f"/v1/complaints/{complaint_id}/possible-duplicates")
    assert response.status_code == 200, response.text
    return response


async def test_a_duplicate_across_consenting_non_state_institutions_is_flagged_on_both_sides(stack):
    ngo, nhri = await stack.new_institution(kind="ngo"), await stack.new_institution(kind="nhri")
    mine, theirs, sibling = await submit(stack, ngo), await submit(stack, nhri), await submit(stack, ngo)
    person = "Amina Walid Diallo"

    assert await index(stack, ngo, mine, kind="ngo", persons=[(person, "1990-02-01")],
                       incidents=[("FR", "2024-03-05", "Calais")]) == []
    returned = await index(stack, nhri, theirs, kind="nhri", persons=[("DIALLO Amina-Walid", "1990-02-01"),
                                                                        ("Omar Diallo", None)])
    assert [(n.scope, n.basis, n.coordinate_with, n.complaint_id) for n in returned] == [
        ("other_institution", "person", ngo.institution_id, None)]

    ours = await notices(stack, ngo, mine)
    assert [(n["scope"], n["basis"], n["coordinate_with"], n["complaint_id"]) for n in ours.json()["items"]] == [
        ("other_institution", "person", nhri.institution_id, None)]
    theirs_response = await notices(stack, nhri, theirs)
    assert [n["coordinate_with"] for n in theirs_response.json()["items"]] == [ngo.institution_id]
    # Neither side sees the other's complaint, its victims or its incidents.
    assert theirs not in ours.text and mine not in theirs_response.text
    for text in (ours.text, theirs_response.text):
        assert "Diallo" not in text and "Amina" not in text and "1990" not in text and "Calais" not in text

    # Within the institution the other complaint is named; the match with the NHRI is told once.
    await index(stack, ngo, sibling, kind="ngo", persons=[(person, "1990-02-01")])
    items = (await notices(stack, ngo, mine)).json()["items"]
    assert {(n["scope"], n["complaint_id"], n["coordinate_with"]) for n in items} == {
        ("other_institution", None, nhri.institution_id), ("same_institution", sibling, None)}
    assert len((await notices(stack, nhri, theirs)).json()["items"]) == 1

    # The referral service's question, about the holder's own complaints.
    assert await holds(stack, nhri, persons=[(person, "1990-02-01")])
    assert not await holds(stack, nhri, persons=[(person, "1990-02-02")])


async def test_another_institution_gets_404_and_no_client_can_query_the_index(stack):
    owner, other = await stack.new_institution(kind="ngo"), await stack.new_institution(kind="ngo")
    complaint_id = await submit(stack, owner)
    async with await stack.client_for("intake", other) as api:
        response = await api.get(f"/v1/complaints/{complaint_id}/possible-duplicates")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    async with await stack.client_for("intake", owner, scope="complaints:submit") as api:
        response = await api.get(f"/v1/complaints/{complaint_id}/possible-duplicates")
    assert response.status_code == 403
    # Nothing takes a name, a birth date or a digest.
    spec = (await stack.http.get(f"{stack.intake.url}/openapi.json")).json()
    route = spec["paths"]["/v1/complaints/{complaint_id}/possible-duplicates"]["get"]
    assert {p["name"] for p in route.get("parameters", [])} <= {"complaint_id", "limit", "cursor"}
    assert "requestBody" not in route


async def test_a_state_central_authority_is_told_nothing_and_nothing_is_told_about_it(stack):
    authority = await stack.new_institution(kind="central_authority")
    ngo, refusing = await stack.new_institution(kind="ngo"), await stack.new_institution(kind="ngo")
    person = [("Leila Haddad Karimi", "1985-07-14")]
    incident = [("TR", "2025-01-20", "Ankara, Kızılay square")]
    held_by_authority = await submit(stack, authority)
    held_by_ngo = await submit(stack, ngo)
    held_without_consent = await submit(stack, refusing)

    assert await index(stack, ngo, held_by_ngo, kind="ngo", persons=person, incidents=incident) == []
    # The authority's complaint matches on both bases, and its victims even consented: still nothing.
    assert await index(stack, authority, held_by_authority, kind="central_authority", persons=person,
                       incidents=incident, consent=True) == []
    # An NGO whose victim did not consent to coordination: nothing either way.
    assert await index(stack, refusing, held_without_consent, kind="ngo", persons=person, consent=False) == []

    assert (await notices(stack, authority, held_by_authority)).json()["items"] == []
    assert (await notices(stack, refusing, held_without_consent)).json()["items"] == []
    ngo_view = await notices(stack, ngo, held_by_ngo)
    assert ngo_view.json()["items"] == []
    for institution in (authority, refusing):
        assert institution.institution_id not in ngo_view.text

    # Re-indexed with consent given later, the refusing NGO's complaint now matches the other NGO's only.
    again = await index(stack, refusing, held_without_consent, kind="ngo", persons=person, consent=True)
    assert [(n.scope, n.coordinate_with) for n in again] == [("other_institution", ngo.institution_id)]
    assert [n["coordinate_with"] for n in (await notices(stack, ngo, held_by_ngo)).json()["items"]] == [
        refusing.institution_id]
    assert (await notices(stack, authority, held_by_authority)).json()["items"] == []


async def test_erasure_removes_the_index_rows_and_the_notices_on_both_sides(stack):
    ngo, nhri = await stack.new_institution(kind="ngo"), await stack.new_institution(kind="ombudsperson")
    erased, kept, elsewhere = await submit(stack, ngo), await submit(stack, ngo), await submit(stack, nhri)
    person = [("Yusuf Abdi Farah", "1979-11-30")]
    await index(stack, ngo, erased, kind="ngo", persons=person, incidents=[("GR", "2023-06-14", "Pylos")])
    await index(stack, ngo, kept, kind="ngo", persons=[("Hodan Farah", "2001-01-01")])
    await index(stack, nhri, elsewhere, kind="ombudsperson", persons=person)
    assert await index_rows(stack, erased) == 2
    assert len((await notices(stack, nhri, elsewhere)).json()["items"]) == 1

    await forget(stack, ngo, erased)

    assert await index_rows(stack, erased) == 0
    assert await index_rows(stack, kept) == 1
    assert (await notices(stack, nhri, elsewhere)).json()["items"] == []
    assert (await notices(stack, ngo, erased)).json()["items"] == []
    assert not await holds(stack, ngo, persons=person)


async def test_complaints_submitted_through_the_api_are_flagged_just_after_their_submission(stack):
    """Submissions are indexed by intake's consumer of comitas.complaint.submitted, after the request
    (ADR 0015, revised): the notices appear on both sides shortly after the second 201, as they did in it."""
    ngo, nhri = await stack.new_institution(kind="ngo"), await stack.new_institution(kind="nhri")
    # A name of this test's own: the stack (and its index) is shared with the other tests.
    surname = f"Diallo{uuid.uuid4().hex[:8]}"
    victim = {"name": f"Amina Walid {surname}", "birth_date": "1990-02-01", "kind": "person"}
    facts = {**COMPLAINT, "victims": [victim], "disclosure": {"coordination": True}}
    async with await stack.client_for("intake", ngo) as api:
        first = await api.post("/v1/complaints", json=facts)
    assert first.status_code == 201, first.text
    async with await stack.client_for("intake", nhri) as api:
        second = await api.post("/v1/complaints", json={**facts, "victims": [{**victim,
                                                                              "name": f"{surname.upper()} Amina-Walid"}]})
    assert second.status_code == 201, second.text
    assert second.json()["possible_duplicates"] == []  # found after the request, no longer in its answer

    async def told(who, complaint_id: str, other) -> bool:
        items = (await notices(stack, who, complaint_id)).json()["items"]
        return [(n["scope"], n["basis"], n["coordinate_with"]) for n in items] == [
            ("other_institution", "person", other.institution_id)]

    await eventually(lambda: told(nhri, second.json()["id"], ngo), timeout=30)
    await eventually(lambda: told(ngo, first.json()["id"], nhri), timeout=30)


async def test_a_complaint_erased_before_its_event_is_handled_is_not_indexed(stack):
    """The event of a complaint erased meanwhile (delivered late, or again) indexes nothing: the
    consumer reads the complaint after taking the index's lock, which the erasure took too."""
    from comitas_intake.complaints import service as complaints

    owner = await stack.new_institution(kind="ngo")
    facts = {**COMPLAINT, "victims": [{"name": f"Omar {uuid.uuid4().hex[:8]}", "birth_date": "1985-07-07",
                                       "kind": "person"}]}
    async with await stack.client_for("intake", owner) as api:
        complaint_id = (await api.post("/v1/complaints", json=facts)).json()["id"]
        await eventually(lambda: index_rows(stack, complaint_id), timeout=30)
        erased = await api.post(f"/v1/complaints/{complaint_id}/erasure", json={"reason": "the victim asked for it"})
    assert erased.status_code == 200, erased.text
    assert await index_rows(stack, complaint_id) == 0

    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            indexed = await complaints.index_submitted(
                session, stack.intake.app.state.keyring,
                complaints=[(InstitutionId(owner.institution_id), complaint_id)], now=NOW)
    finally:
        await database.dispose()
    assert indexed == 0
    assert await index_rows(stack, complaint_id) == 0
