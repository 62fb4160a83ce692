"""Possible duplicates as pure decisions: what is indexed, how names and places are normalised, and
who may be told of a match (no I/O)."""

from __future__ import annotations

import pytest

from comitas_intake.duplicates import domain
from comitas_intake.duplicates.domain import Entry, IndexKey, Notice
from comitas_intake.protection.crypto import KeyRing, blind_index

KEY = KeyRing("master-key-for-tests-0000000000000000000", blind_index_secret="blind-index-key-for-tests-0000000").blind_key


@pytest.mark.parametrize("variant", ["Amina Diallo", "DIALLO Amina", "  amina   diallo ", "Âmina Diallo", "Diallo, Amina"])
def test_a_name_is_the_same_whatever_the_order_case_accents_and_punctuation(variant):
    assert domain.person_key(variant, "1990-02-01") == domain.person_key("Amina Diallo", "1990-02-01")


def test_hyphenated_and_spaced_given_names_are_the_same():
    assert (domain.person_key("Jean-Pierre Diallo", "1990-02-01")
            == domain.person_key("Diallo Jean Pierre", "1990-02-01"))
    assert (domain.person_key("Amina Walid Diallo", "1990-02-01")
            == domain.person_key("DIALLO Amina-Walid", "1990-02-01"))
    decomposed = "A\u0302mina Diallo"  # an accent as a combining mark does not split the name
    assert domain.person_key(decomposed, "1990-02-01") == domain.person_key("Amina Diallo", "1990-02-01")
    assert domain.person_key("Amina Diallo", "1990-02-01") != domain.person_key("Amina Diallou", "1990-02-01")


def test_a_person_is_indexed_only_with_a_full_birth_date():
    for born in (None, "1990", "1990-02", "01/02/1990", "1990-02-30"):
        assert domain.person_key("Amina Diallo", born) is None
    assert domain.person_key("   ", "1990-02-01") is None
    assert domain.person_key("Amina Diallo", "1990-02-01") == IndexKey("person", ("aminadiallo", "1990-02-01"))


def test_an_incident_is_indexed_only_with_a_state_a_full_date_and_a_place():
    assert domain.incident_key("fr", "2024-03-05", "Calais, port") == IndexKey("incident", ("FR", "2024-03-05", "calais port"))
    for state, on, place in (("FR", None, "Calais"), ("FR", "2024-03", "Calais"), ("FR", "2024-03-05", None),
                             ("FR", "2024-03-05", " ,. "), ("France", "2024-03-05", "Calais"), (None, "2024-03-05", "x")):
        assert domain.incident_key(state, on, place) is None


def test_index_keys_are_distinct_and_ordered():
    keys = domain.index_keys([("Amina Diallo", "1990-02-01"), ("DIALLO Amina", "1990-02-01"), ("Omar", None)],
                             [("FR", "2024-03-05", "Calais")])
    assert [k.purpose for k in keys] == ["incident", "person"]


def test_index_keys_digest_to_keyed_values_that_hide_the_name():
    person = domain.person_key("Amina Diallo", "1990-02-01")
    assert person is not None
    digest = blind_index(KEY, *person.parts, purpose=person.purpose)
    assert "amina" not in digest.lower()
    assert blind_index(KEY, *domain.person_key("DIALLO, Amína", "1990-02-01").parts, purpose="person") == digest
    other = KeyRing("master-key-for-tests-0000000000000000000", blind_index_secret="another-key-0000000000000000000").blind_key
    assert blind_index(other, *person.parts, purpose=person.purpose) != digest


@pytest.mark.parametrize(("kind", "consent", "allowed"), [
    ("ngo", True, True), ("nhri", True, True), ("ombudsperson", True, True), ("regional_commission", True, True),
    ("ngo", False, False), ("central_authority", True, False), ("central_authority", False, False),
    (None, True, False), ("ministry_of_interior", True, False),
])
def test_only_non_state_institutions_with_consent_coordinate(kind, consent, allowed):
    assert domain.may_coordinate(kind, consent) is allowed


def entry(institution: str, complaint: str, digest: str = "d1", *, kind: str | None = "ngo", consent: bool = True,
          purpose: str = "person") -> Entry:
    return Entry(institution, complaint, purpose, digest, kind, consent)  # type: ignore[arg-type]


def test_within_the_institution_the_other_complaint_is_named_whatever_the_kind_or_consent():
    mine = [entry("A", "c1", kind="central_authority", consent=False)]
    candidates = [*mine, entry("A", "c2", kind="central_authority", consent=False)]
    assert domain.notices_of("A", "c1", mine, candidates) == {Notice("A", "c1", "person", "same_institution", "c2")}


def test_across_institutions_only_the_institution_is_named_and_only_once():
    mine = [entry("A", "c1"), entry("A", "c1", "d2", purpose="incident")]
    candidates = [*mine, entry("B", "x1"), entry("B", "x2"), entry("B", "x3", "d2", purpose="incident"),
                  entry("C", "y1", "unrelated")]
    assert domain.notices_of("A", "c1", mine, candidates) == {
        Notice("A", "c1", "person", "other_institution", "B"),
        Notice("A", "c1", "incident", "other_institution", "B")}


@pytest.mark.parametrize(("mine", "theirs"), [
    ({"kind": "central_authority"}, {}), ({}, {"kind": "central_authority"}),
    ({"consent": False}, {}), ({}, {"consent": False}), ({"kind": None}, {}),
])
def test_nothing_is_said_across_institutions_unless_both_sides_may_coordinate(mine, theirs):
    own = [entry("A", "c1", **mine)]
    other = entry("B", "x1", **theirs)
    assert domain.notices_of("A", "c1", own, [*own, other]) == set()
    assert domain.notices_of("B", "x1", [other], [*own, other]) == set()


def test_a_complaint_without_entries_has_no_notices():
    assert domain.notices_of("A", "c1", [], [entry("A", "c2")]) == set()


def test_reconcile_keeps_what_still_holds():
    keep, old, new = (Notice("A", "c1", "person", "same_institution", x) for x in ("c2", "c3", "c4"))
    changes = domain.reconcile([keep, old], [keep, new])
    assert changes.add == [new] and changes.remove == [old]
