"""Issue 10, acceptance 5 and 6: the acknowledgement deadline counted in the recipient's working days
(a public holiday of its country skipped) reaches notifications; acknowledging withdraws it and starts
the response deadline; an unanswered referral is flagged overdue and can still be acknowledged. Each
deadline's title names the institution that must act (both sides see it).
Withdrawing consent, or erasing the complaint, makes the recipient's next read of the packet fail at
once, and the recipient is told by event and in the thread."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from referral_testkit import (
    RECIPIENT_PROFILE,
    Receiver,
    act,
    close_parties,
    complaint,
    consent,
    new_party,
    refer,
    subscribe,
)

from comitas_shared.testing import eventually

PURPOSE = {"Comitas-Purpose": "examine the referred case"}
# Monday 7 December 2026, 10:00 in Rome: the day before the Immaculate Conception (8 December), a public
# holiday in Italy.
MONDAY_BEFORE_HOLIDAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
AFTER_THE_DUE_DAY = datetime(2026, 12, 12, 9, 0, tzinfo=UTC)


@pytest.fixture
async def parties(stack, referral):
    a = await new_party(stack, referral, "Sender", country="FR")
    b = await new_party(stack, referral, "Recipient", country="IT", profile=RECIPIENT_PROFILE)
    yield a, b
    await close_parties(a, b)


@pytest.fixture
def clock(referral):
    """Pins referral's business clock (the stack's other services keep theirs)."""
    platform = referral.app.state.platform
    original = platform.clock
    now = {"at": MONDAY_BEFORE_HOLIDAY}
    platform.clock = lambda: now["at"]
    yield now
    platform.clock = original


async def deadlines_at_notifications(stack, party, prefix: str) -> dict[str, dict]:
    async with await stack.client_for("notifications", party.credentials) as api:
        listed = await api.get("/v1/deadlines", params={"limit": 100})
    assert listed.status_code == 200, listed.text
    return {d["deadline_key"]: d for d in listed.json()["items"] if d["deadline_key"].startswith(prefix)}


async def test_the_acknowledgement_deadline_skips_the_recipient_s_holiday_and_overdue_is_derived(stack, parties,
                                                                                              clock):
    a, b = parties
    complaint_id = await complaint(a)
    await consent(a, complaint_id, b.id, purposes=["investigate"], categories=["identity", "narrative"])
    sent = await refer(a, complaint_id, b)
    rid = sent["id"]
    acknowledgement = next(d for d in sent["deadlines"] if d["period"] == "acknowledgement")
    # Three working days from the day after receipt: 8 December is a holiday, so Wed 9, Thu 10, Fri 11.
    assert acknowledgement["last_day"] == "2026-12-11" and acknowledgement["time_zone"] == "Europe/Rome"
    assert acknowledgement["state"] == "open" and sent["overdue"] is None
    key = f"referral:{rid}:acknowledgement"
    for party in (b, a):
        found = await eventually(lambda party=party: deadlines_at_notifications(stack, party, key), timeout=20)
        assert found[key]["last_day"] == "2026-12-11", found[key]
        # Both sides read the same title, which names who must act: the recipient, by its directory name.
        assert found[key]["title"] == f"Referral {rid[:8]}: {b.name} is to acknowledge", found[key]

    clock["at"] = AFTER_THE_DUE_DAY
    late = (await b.referral.get(f"/v1/referrals/{rid}")).json()
    assert late["overdue"] == "acknowledgement" and late["state"] == "sent"
    assert [r["overdue"] for r in (await b.referral.get("/v1/referrals")).json()["items"]] == ["acknowledgement"]

    acknowledged = await act(b, rid, "acknowledge")
    assert acknowledged["overdue"] is None
    periods = {d["period"]: d for d in acknowledged["deadlines"]}
    assert periods["acknowledgement"]["state"] == "met"
    # Ten working days from Monday 14 December, Christmas and St Stephen's skipped.
    assert periods["response"]["last_day"] == "2026-12-28" and periods["response"]["state"] == "open"

    async def acknowledgement_met() -> bool:
        found = await deadlines_at_notifications(stack, b, f"referral:{rid}:")
        return found.get(key, {}).get("state") == "met" and f"referral:{rid}:response" in found

    await eventually(acknowledgement_met, timeout=20)
    response_key = f"referral:{rid}:response"
    for party in (b, a):
        found = await eventually(lambda party=party: deadlines_at_notifications(stack, party, response_key),
                                 timeout=20)
        assert found[response_key]["title"] == f"Referral {rid[:8]}: {b.name} is to accept or decline"

    # A request for information pauses the response deadline; the answer resumes it, days added back.
    clock["at"] = datetime(2026, 12, 15, 9, 0, tzinfo=UTC)
    asked = await b.referral.post(f"/v1/referrals/{rid}/information-requests", json={"question": "Which day?"})
    assert asked.status_code == 201
    paused = (await b.referral.get(f"/v1/referrals/{rid}")).json()
    assert {d["period"]: d["state"] for d in paused["deadlines"]}["response"] == "paused"
    clock["at"] = datetime(2026, 12, 17, 9, 0, tzinfo=UTC)
    answered = await a.referral.post(f"/v1/referrals/{rid}/messages",
                                     json={"body": "The 2nd of March.", "answers": asked.json()["id"]})
    assert answered.status_code == 201, answered.text
    resumed = {d["period"]: d for d in (await b.referral.get(f"/v1/referrals/{rid}")).json()["deadlines"]}
    # Paused on 15 and 16 December (two working days): the last day moves two working days on.
    assert resumed["response"]["state"] == "open" and resumed["response"]["last_day"] == "2026-12-30"


async def test_withdrawing_consent_stops_the_packet_at_once_and_the_recipient_is_told(stack, parties):
    a, b = parties
    hook = Receiver()
    await hook.served.start()
    try:
        await subscribe(stack, b, hook)
        complaint_id = await complaint(a)
        consent_id = await consent(a, complaint_id, b.id, purposes=["investigate"],
                                   categories=["identity", "narrative"])
        sent = await refer(a, complaint_id, b)
        rid, grant = sent["id"], sent["packet"]["grant_id"]
        assert (await b.intake.get(f"/v1/disclosures/{grant}", headers=PURPOSE)).status_code == 200

        withdrawn = await a.intake.post(f"/v1/complaints/{complaint_id}/consents/{consent_id}/withdrawal",
                                        json={"channel": "phone"})
        assert withdrawn.status_code == 201, withdrawn.text
        assert (await b.intake.get(f"/v1/disclosures/{grant}", headers=PURPOSE)).status_code == 410

        async def told() -> bool:
            seen = (await b.referral.get(f"/v1/referrals/{rid}")).json()
            return seen["packet"]["revoked"] == "consent_withdrawn"

        await eventually(told, timeout=20)
        thread = (await b.referral.get(f"/v1/referrals/{rid}/messages")).json()["items"]
        assert thread[-1]["author"] == "system" and "withdrew the consent" in thread[-1]["body"]
        await eventually(lambda: "comitas.referral.disclosure_revoked" in hook.types(rid), timeout=30)
    finally:
        await hook.served.stop()


async def test_erasing_the_complaint_stops_the_packet_and_the_recipient_is_told(stack, parties):
    a, b = parties
    complaint_id = await complaint(a)
    await consent(a, complaint_id, b.id, purposes=["investigate"], categories=["identity", "narrative"])
    sent = await refer(a, complaint_id, b)
    rid, grant = sent["id"], sent["packet"]["grant_id"]
    erased = await a.intake.post(f"/v1/complaints/{complaint_id}/erasure",
                                 json={"reason": "the victim asked for erasure", "requested_by": "victim"})
    assert erased.status_code == 200, erased.text
    assert (await b.intake.get(f"/v1/disclosures/{grant}", headers=PURPOSE)).status_code == 410

    async def told() -> bool:
        return (await b.referral.get(f"/v1/referrals/{rid}")).json()["packet"]["revoked"] == "complaint_erased"

    await eventually(told, timeout=20)
    thread = (await b.referral.get(f"/v1/referrals/{rid}/messages")).json()["items"]
    assert thread[-1]["author"] == "system" and "erased" in thread[-1]["body"]
