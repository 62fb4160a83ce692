"""consent_allows, exhaustively: every status × recipient scope × query kind × purpose × category,
with the ordering rules (latest decides, withdrawal wins ties, a withdrawal by name is lifted only by
name, not-obtainable allows only its justified purposes), and the recording checks."""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime, timedelta

import pytest

from comitas_intake.consent.domain import (
    MECHANISM_KIND,
    Category,
    ConsentRecord,
    DisclosureRef,
    Purpose,
    Reason,
    RecipientType,
    Status,
    affected_by_withdrawal,
    check_new_record,
    consent_allows,
    coverage,
    withdrawal_of,
)
from comitas_shared.errors import InvalidInput

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
NGO_A, NGO_B, NHRI = "inst-ngo-a", "inst-ngo-b", "inst-nhri"
KINDS = {NGO_A: "ngo", NGO_B: "ngo", NHRI: "nhri"}
# Every recipient a query can name: three institutions and two mechanisms.
RECIPIENTS = [(NGO_A, "ngo"), (NGO_B, "ngo"), (NHRI, "nhri"), ("iachr", MECHANISM_KIND), ("ccpr", MECHANISM_KIND)]
SCOPES = [(RecipientType.INSTITUTION, NGO_A), (RecipientType.INSTITUTION_KIND, "ngo"),
          (RecipientType.MECHANISM, "iachr")]
_ids = itertools.count()


def rec(status: Status, scope: tuple[RecipientType, str], *, purposes=(Purpose.INVESTIGATE,),
        categories=(Category.IDENTITY,), at: datetime = T0, justified=()) -> ConsentRecord:
    return ConsentRecord(id=f"c{next(_ids)}", status=status, purposes=frozenset(purposes), recipient_type=scope[0],
                         recipient=scope[1], categories=frozenset(categories), at=at,
                         justified_purposes=frozenset(justified))


def allows(records, recipient=(NGO_A, "ngo"), purpose=Purpose.INVESTIGATE, category=Category.IDENTITY,
           at: datetime = T0 + timedelta(days=1)):
    return consent_allows(records, recipient=recipient[0], recipient_kind=recipient[1], purpose=purpose,
                          category=category, at=at)


def covered(scope: tuple[RecipientType, str], recipient: tuple[str, str]) -> bool:
    """The coverage rule, written out independently of the code under test."""
    kind, value = scope
    if kind is RecipientType.INSTITUTION:
        return recipient[1] != MECHANISM_KIND and recipient[0] == value
    if kind is RecipientType.INSTITUTION_KIND:
        return recipient[1] != MECHANISM_KIND and recipient[1] == value
    return recipient[1] == MECHANISM_KIND and recipient[0] == value


def test_nothing_recorded_allows_nothing():
    for recipient, purpose, category in itertools.product(RECIPIENTS, Purpose, Category):
        decision = allows([], recipient, purpose, category)
        assert not decision.allowed and decision.reason is Reason.NO_CONSENT and decision.record_id is None


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: f"{s[0].value}:{s[1]}")
@pytest.mark.parametrize("status", list(Status))
def test_one_record_against_every_recipient_purpose_and_category(status, scope):
    """A single record (given for investigate+legal_aid, identity+narrative; or not obtainable with a
    justification naming interim_measures only; or withdrawn) against every query."""
    purposes = (Purpose.INVESTIGATE, Purpose.LEGAL_AID)
    justified = (Purpose.INTERIM_MEASURES,)
    if status is Status.NOT_OBTAINABLE:
        purposes = justified
    record = rec(status, scope, purposes=purposes, categories=(Category.IDENTITY, Category.NARRATIVE),
                 justified=justified if status is Status.NOT_OBTAINABLE else ())
    for recipient, purpose, category in itertools.product(RECIPIENTS, Purpose, Category):
        decision = allows([record], recipient, purpose, category)
        matches = (covered(scope, recipient) and purpose in purposes
                   and category in (Category.IDENTITY, Category.NARRATIVE))
        expected = matches and status is not Status.WITHDRAWN
        assert decision.allowed is expected, (status, scope, recipient, purpose, category, decision)
        if not matches:
            assert decision.reason is Reason.NO_CONSENT
        elif status is Status.GIVEN:
            assert decision.reason is Reason.GIVEN and decision.record_id == record.id
        elif status is Status.WITHDRAWN:
            assert decision.reason is Reason.WITHDRAWN
        else:
            assert decision.reason is Reason.NOT_OBTAINABLE_JUSTIFIED


def test_a_record_counts_only_from_its_time():
    record = rec(Status.GIVEN, SCOPES[0], at=T0)
    assert not allows([record], at=T0 - timedelta(seconds=1)).allowed
    assert allows([record], at=T0).allowed
    withdrawn = rec(Status.WITHDRAWN, SCOPES[0], at=T0 + timedelta(hours=1))
    assert allows([record, withdrawn], at=T0 + timedelta(minutes=59)).allowed
    assert not allows([record, withdrawn], at=T0 + timedelta(hours=1)).allowed


LEVELS = {"institution": SCOPES[0], "kind": SCOPES[1]}


@pytest.mark.parametrize("first_level,second_level", list(itertools.product(LEVELS, LEVELS)))
@pytest.mark.parametrize("first,second", list(itertools.product(list(Status), list(Status))))
def test_two_records_in_sequence_every_combination(first, second, first_level, second_level):
    """Two records matching NGO A (by name or by kind), one after the other, for every pair of statuses
    and levels; the expected answer is written out from the rules, not from the code."""
    justified = (Purpose.INVESTIGATE,)
    a = rec(first, LEVELS[first_level], at=T0, justified=justified if first is Status.NOT_OBTAINABLE else ())
    b = rec(second, LEVELS[second_level], at=T0 + timedelta(hours=1),
            justified=justified if second is Status.NOT_OBTAINABLE else ())
    decision = allows([b, a])  # the order given does not matter
    if second is Status.WITHDRAWN:
        expected, reason = False, Reason.WITHDRAWN
    elif first is Status.WITHDRAWN and first_level == "institution" and second_level == "kind":
        # "not this NGO" is not undone by a later "every NGO"
        expected, reason = False, Reason.WITHDRAWN_FOR_THIS_RECIPIENT
    else:
        expected = True
        reason = Reason.GIVEN if second is Status.GIVEN else Reason.NOT_OBTAINABLE_JUSTIFIED
    assert (decision.allowed, decision.reason) == (expected, reason)
    # NGO B is only ever reached by the kind-level records.
    reaching_b = [r for r, level in ((a, first_level), (b, second_level)) if level == "kind"]
    assert allows([a, b], (NGO_B, "ngo")).allowed is (bool(reaching_b) and reaching_b[-1].status is not Status.WITHDRAWN)


def test_on_the_same_instant_withdrawal_wins_whatever_the_order():
    given, withdrawn = rec(Status.GIVEN, SCOPES[1]), rec(Status.WITHDRAWN, SCOPES[1])
    for records in ([given, withdrawn], [withdrawn, given]):
        assert allows(records).reason is Reason.WITHDRAWN


def test_a_later_grant_by_name_lifts_a_withdrawal_by_name():
    records = [rec(Status.GIVEN, SCOPES[1], at=T0), rec(Status.WITHDRAWN, SCOPES[0], at=T0 + timedelta(hours=1)),
               rec(Status.GIVEN, SCOPES[1], at=T0 + timedelta(hours=2))]
    assert allows(records).reason is Reason.WITHDRAWN_FOR_THIS_RECIPIENT
    records.append(rec(Status.GIVEN, SCOPES[0], at=T0 + timedelta(hours=3)))
    assert allows(records).reason is Reason.GIVEN
    assert allows(records, (NGO_B, "ngo")).allowed


def test_not_obtainable_allows_only_the_justified_purposes():
    record = rec(Status.NOT_OBTAINABLE, SCOPES[2], purposes=(Purpose.INTERIM_MEASURES, Purpose.INVESTIGATE),
                 categories=list(Category), justified=(Purpose.INTERIM_MEASURES,))
    for purpose in Purpose:
        decision = allows([record], ("iachr", MECHANISM_KIND), purpose, Category.IDENTITY)
        if purpose is Purpose.INTERIM_MEASURES:
            assert decision.allowed and decision.basis is Status.NOT_OBTAINABLE
        elif purpose is Purpose.INVESTIGATE:
            assert (decision.allowed, decision.reason) == (False, Reason.NOT_OBTAINABLE_OTHER_PURPOSE)
        else:
            assert decision.reason is Reason.NO_CONSENT


def test_mechanism_and_institution_records_never_cover_each_other():
    by_code = rec(Status.GIVEN, (RecipientType.MECHANISM, NGO_A))  # a mechanism code equal to an id
    assert not allows([by_code], (NGO_A, "ngo")).allowed
    by_id = rec(Status.GIVEN, (RecipientType.INSTITUTION, "iachr"))
    assert not allows([by_id], ("iachr", MECHANISM_KIND)).allowed
    by_kind = rec(Status.GIVEN, (RecipientType.INSTITUTION_KIND, MECHANISM_KIND))
    assert not allows([by_kind], ("iachr", MECHANISM_KIND)).allowed


def test_unknown_purpose_or_category_is_an_error_not_a_refusal():
    with pytest.raises(ValueError):
        allows([], purpose="gossip")
    with pytest.raises(ValueError):
        allows([], category="horoscope")


def test_coverage_of_several_categories_names_what_is_refused():
    records = [rec(Status.GIVEN, SCOPES[0], categories=(Category.IDENTITY, Category.NARRATIVE))]
    result = coverage(records, recipient=NGO_A, recipient_kind="ngo", purpose=Purpose.INVESTIGATE,
                      categories=[Category.NARRATIVE, Category.HEALTH, Category.IDENTITY], at=T0)
    assert not result.allowed and result.refused == [Category.HEALTH]
    assert result.record_ids == [records[0].id]
    ok = coverage(records, recipient=NGO_A, recipient_kind="ngo", purpose=Purpose.INVESTIGATE,
                  categories=[Category.IDENTITY], at=T0)
    assert ok.allowed and ok.refused == []


# --- recording ---------------------------------------------------------------------------------------


def check(**overrides):
    values = dict(status=Status.GIVEN, purposes=[Purpose.INVESTIGATE], recipient_type=RecipientType.INSTITUTION,
                  recipient=NGO_A, categories=[Category.IDENTITY], at=T0, now=T0, has_justification=False,
                  justified_purposes=[], known_mechanisms=frozenset({"iachr"}), known_kinds=frozenset({"ngo"}))
    return check_new_record(**(values | overrides))


@pytest.mark.parametrize("overrides,pointer", [
    ({"at": T0 + timedelta(seconds=1)}, "/at"),
    ({"purposes": []}, "/purposes"),
    ({"categories": []}, "/categories"),
    ({"has_justification": True, "justified_purposes": [Purpose.INVESTIGATE]}, "/justification"),
    ({"status": Status.NOT_OBTAINABLE}, "/justification"),
    ({"status": Status.NOT_OBTAINABLE, "has_justification": True}, "/justification"),
    ({"status": Status.NOT_OBTAINABLE, "has_justification": True, "justified_purposes": [Purpose.INTERIM_MEASURES]},
     "/purposes"),
    ({"recipient_type": RecipientType.MECHANISM, "recipient": "nowhere"}, "/recipient/value"),
    ({"recipient_type": RecipientType.INSTITUTION_KIND, "recipient": "ngos"}, "/recipient/value"),
])
def test_what_cannot_be_a_consent_record_is_refused_with_its_field(overrides, pointer):
    with pytest.raises(InvalidInput) as refused:
        check(**overrides)
    assert refused.value.extra["errors"][0]["pointer"] == pointer


def test_not_obtainable_takes_its_purposes_from_the_justification():
    checked = check(status=Status.NOT_OBTAINABLE, purposes=[], has_justification=True,
                    justified_purposes=[Purpose.INTERIM_MEASURES])
    assert checked.purposes == checked.justified_purposes == {Purpose.INTERIM_MEASURES}
    assert check(recipient_type=RecipientType.MECHANISM, recipient="iachr").recipient == "iachr"
    assert check(recipient_type=RecipientType.INSTITUTION_KIND, recipient="ngo").recipient == "ngo"


def test_a_withdrawal_copies_what_it_withdraws_and_cannot_precede_it():
    given = rec(Status.GIVEN, SCOPES[1], purposes=(Purpose.LEGAL_AID,), categories=(Category.CONTACT,), at=T0)
    out = withdrawal_of(given, at=T0 + timedelta(hours=1), now=T0 + timedelta(hours=2))
    assert (out.status, out.purposes, out.recipient_type, out.recipient, out.categories) == (
        Status.WITHDRAWN, given.purposes, given.recipient_type, given.recipient, given.categories)
    for at, now in ((T0 - timedelta(seconds=1), T0), (T0 + timedelta(hours=3), T0 + timedelta(hours=2))):
        with pytest.raises(InvalidInput):
            withdrawal_of(given, at=at, now=now)
    with pytest.raises(InvalidInput):
        withdrawal_of(rec(Status.WITHDRAWN, SCOPES[1]), at=T0, now=T0)


def test_a_withdrawal_touches_the_disclosures_it_covers_and_only_those():
    withdrawal = withdrawal_of(rec(Status.GIVEN, SCOPES[1], purposes=(Purpose.INVESTIGATE,),
                                   categories=(Category.IDENTITY, Category.CONTACT)), at=T0, now=T0)

    def ref(grant, recipient, purpose=Purpose.INVESTIGATE, categories=(Category.IDENTITY,)):
        return DisclosureRef(grant, recipient, KINDS[recipient], purpose, frozenset(categories))

    disclosures = [ref("g1", NGO_A), ref("g2", NGO_B, categories=(Category.NARRATIVE, Category.CONTACT)),
                   ref("g3", NHRI), ref("g4", NGO_A, Purpose.LEGAL_AID), ref("g5", NGO_B, categories=(Category.HEALTH,))]
    assert [d.grant_id for d in affected_by_withdrawal(withdrawal, disclosures)] == ["g1", "g2"]


# --- what a disclosure holds -------------------------------------------------------------------------

VIEW = {
    "summary": "Amina was beaten in custody.",
    "victims": [{"kind": "person", "name": "Amina Diallo", "birth_date": "1990-02-01",
                 "identity_documents": [{"kind": "passport", "number": "X123"}],
                 "addresses": [{"text": "12 rue de la Paix"}], "contacts": [{"kind": "phone", "value": "+33 1"}]}],
    "representative": {"kind": "lawyer", "name": "Me Martin", "addresses": [], "contacts": [{"kind": "email",
                                                                                          "value": "m@x.fr"}]},
    "petitioner": None,
    "incidents": [{"start": "2025-01-01", "place": "Central police station", "narrative": "Beaten."}],
    "respondent_states": ["FR"],
    "disclosure": {"receiving_body": "allowed", "respondent_state": "withheld", "public": "withheld",
                   "reasons": "fear of reprisals from Officer Dupont"},
}


@pytest.mark.parametrize("asked", [set(c) for n in range(len(Category) + 1)
                                   for c in itertools.combinations(Category, n)])
def test_a_disclosure_holds_exactly_the_categories_asked(asked):
    from comitas_intake.consent.domain import categorise

    files = [{"id": "e1", "sha256": "0" * 64, "size": 3, "detected_type": "image/jpeg", "filename": "amina.jpg"}]
    out = categorise(VIEW, asked, files)
    assert set(out) == {c.value for c in asked}
    text = json.dumps(out)
    assert ("Amina Diallo" in text) is (Category.IDENTITY in asked)
    assert ("X123" in text) is (Category.IDENTITY in asked)
    assert ("12 rue de la Paix" in text) is (Category.CONTACT in asked)
    assert ("m@x.fr" in text) is (Category.CONTACT in asked)
    assert ("Central police station" in text) is (Category.NARRATIVE in asked)
    assert ("amina.jpg" in text) is (Category.EVIDENCE in asked)
    assert "Officer Dupont" not in text  # the reasons for withholding identity go nowhere
    if Category.HEALTH in asked:
        assert out["health"] is None


def test_handling_says_where_the_identity_may_go_and_not_why():
    from comitas_intake.consent.domain import handling

    assert handling(VIEW) == {"identity_disclosure": {"receiving_body": "allowed", "respondent_state": "withheld",
                                                      "public": "withheld"}}
