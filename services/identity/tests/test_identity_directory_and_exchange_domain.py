"""The pure rules: directory entries (defaults, what may change, what is checked) and token exchange."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import pytest

from comitas_identity.institutions import domain as directory
from comitas_identity.institutions import vocabulary
from comitas_identity.oauth import domain
from comitas_identity.oauth.domain import ExchangePolicy, ExchangeRefused, decide_exchange

NOW = 1_800_000_000
POLICY = ExchangePolicy(service_resource="urn:comitas:referral", resources=("urn:comitas:intake",),
                        scopes=("complaints:pii", "complaints:read"))
KNOWN = {"urn:comitas:intake", "urn:comitas:referral", "urn:comitas:notifications"}
SUBJECT = {"iss": "https://id.example.org", "sub": "cli_1", "client_id": "cli_1", "institution_id": "inst_a",
           "aud": "urn:comitas:referral", "scope": "complaints:read complaints:pii referrals:write",
           "exp": NOW + 300, "iat": NOW - 300, "jti": "j1", "institution_kind": "nhri"}


def decide(subject: dict[str, Any] | None = None, *, resources: list[str] | None = None,
           scopes: list[str] | None = None, legacy: str | None = None, lifetime: int = 600) -> domain.Exchange:
    return decide_exchange(subject=subject or SUBJECT, actor="referral", policy=POLICY,
                           requested_resources=["urn:comitas:intake"] if resources is None else resources,
                           requested_scopes=["complaints:pii"] if scopes is None else scopes, known_resources=KNOWN,
                           legacy_audience=legacy, now=NOW, lifetime=lifetime)


def refused(**options: Any) -> str:
    with pytest.raises(ExchangeRefused) as caught:
        decide(**options)
    return caught.value.error


def test_an_exchange_keeps_whose_authority_it_is_and_names_the_actor() -> None:
    granted = decide()
    assert granted.audience == ("urn:comitas:intake",) and granted.scope == "complaints:pii"
    # The institution's kind travels with its authority (intake treats a state's as a state's).
    assert granted.claims == {"sub": "cli_1", "client_id": "cli_1", "institution_id": "inst_a",
                              "institution_kind": "nhri", "act": {"sub": "referral"}}
    # Never longer than the subject token, nor than the platform's token lifetime.
    assert granted.expires_at == NOW + 300
    assert decide(lifetime=60).expires_at == NOW + 60


def test_actors_nest_and_the_chain_is_bounded() -> None:
    once = {**SUBJECT, "act": {"sub": "portal"}}
    assert decide(once).claims["act"] == {"sub": "referral", "act": {"sub": "portal"}}
    deep: dict[str, Any] = {"sub": "s0"}
    for n in range(1, domain.MAX_ACTORS):
        deep = {"sub": f"s{n}", "act": deep}
    assert refused(subject={**SUBJECT, "act": deep}) == "invalid_request"
    assert refused(subject={**SUBJECT, "act": "referral"}) == "invalid_request"


def test_the_subject_token_must_be_addressed_to_the_actor() -> None:
    assert refused(subject={**SUBJECT, "aud": "urn:comitas:intake"}) == "invalid_request"
    assert decide({**SUBJECT, "aud": ["urn:comitas:intake", "urn:comitas:referral"]}).scope == "complaints:pii"
    assert refused(subject={**SUBJECT, "aud": "comitas"}) == "invalid_request"
    assert decide({**SUBJECT, "aud": "comitas"}, legacy="comitas").audience == ("urn:comitas:intake",)
    assert refused(subject={k: v for k, v in SUBJECT.items() if k != "institution_id"}) == "invalid_request"


def test_targets_and_scopes_are_checked_against_the_subject_and_the_actor() -> None:
    assert refused(resources=[]) == "invalid_target"
    assert refused(resources=["urn:comitas:elsewhere"]) == "invalid_target"
    assert refused(resources=["urn:comitas:notifications"]) == "invalid_target"
    assert refused(scopes=[]) == "invalid_scope"
    assert refused(scopes=["referrals:write"]) == "invalid_scope"  # the subject's, not the actor's to ask
    assert refused(subject={**SUBJECT, "scope": "complaints:read"}) == "invalid_scope"  # the actor's, not held
    assert refused(subject={**SUBJECT, "exp": NOW}) == "invalid_request"
    assert decide(scopes=["complaints:read", "complaints:pii", "complaints:read"]).scope == \
        "complaints:pii complaints:read"


def test_exchange_policies_are_checked_at_registration() -> None:
    assert domain.check_exchange_policy(service_resource=None, resources=None, scopes=None) is None
    policy = domain.check_exchange_policy(service_resource="urn:comitas:mla", resources=["urn:comitas:intake"] * 2,
                                          scopes=["complaints:read"])
    assert policy == ExchangePolicy("urn:comitas:mla", ("urn:comitas:intake",), ("complaints:read",))
    for bad in ({"service_resource": None}, {"resources": []}, {"scopes": ["admin"]}, {"scopes": ["x:y"]},
                {"resources": ["no uri"]}):
        options: dict[str, Any] = {"service_resource": "urn:comitas:mla", "resources": ["urn:comitas:intake"],
                                   "scopes": ["complaints:read"], **bad}
        with pytest.raises(ValueError):
            domain.check_exchange_policy(**options)
    assert domain.grant_types_for("client_secret_basic", [], token_exchange=True) == [
        "client_credentials", domain.TOKEN_EXCHANGE]


def test_a_new_entry_has_the_defaults_of_its_kind_and_country() -> None:
    authority = directory.new_entry(name=" Ministère ", kind="central_authority", country="fr")
    assert (authority.name, authority.country, authority.time_zone) == ("Ministère", "FR", "Europe/Paris")
    assert authority.state_institution is True and authority.mandate.countries == ("FR",)
    assert authority.accepts_referrals is False and authority.contact == directory.Contact()
    # Several zones (ES: Madrid, Canaries, Ceuta): not guessed.
    assert directory.new_entry(name="N", kind="nhri", country="ES").time_zone is None
    assert directory.new_entry(name="K", kind="nhri", country="XK").mandate.countries == ("XK",)


def test_changes_say_what_changed_and_keep_the_state_rule() -> None:
    entry = directory.new_entry(name="E", kind="equality_body", country="BE")
    same, changed = directory.apply_changes(entry, {"name": "E", "languages": []})
    assert same == entry and changed == []
    government, changed = directory.apply_changes(entry, {"state_institution": True})
    assert government.state_institution and changed == ["state_institution"]
    # A kind that decides the question answers it; one that leaves it open keeps the answer.
    assert directory.apply_changes(government, {"kind": "ngo"})[0].state_institution is False
    assert directory.apply_changes(government, {"kind": "ombudsperson"})[0].state_institution is True
    with pytest.raises(directory.InvalidEntry):
        directory.apply_changes(entry, {"kind": "platform_service", "accepts_referrals": True,
                                        "referral_kinds": ["referral"], "referral_purposes": ["investigate"]})
    with pytest.raises(ValueError, match="unknown fields"):
        directory.apply_changes(entry, {"website": "x"})


def test_entries_are_normalised() -> None:
    entry, _ = directory.apply_changes(directory.new_entry(name="S", kind="ombudsperson", country="ES"), {
        "subdivision": " es-ct ", "languages": ["CA", "es", "ca"], "time_zone": "Europe/Madrid",
        "closures": [{"day": "2026-12-26", "until": "2026-12-26", "name": " Sant Esteve "},
                     {"day": "2026-08-01", "until": "2026-08-31", "name": "August"}],
        "contact": {"emails": [" a@b.example ", "a@b.example"], "language": "CA"},
        "mandate": {"subject_areas": ["justice", "children", "justice"], "countries": ["es", "ad"]}})
    assert entry.subdivision == "ES-CT" and entry.languages == ("ca", "es")
    assert [(c.day, c.until, c.name) for c in entry.closures] == [
        (date(2026, 8, 1), date(2026, 8, 31), "August"), (date(2026, 12, 26), None, "Sant Esteve")]
    assert entry.contact == directory.Contact(emails=("a@b.example",), language="ca")
    assert entry.mandate.subject_areas == ("children", "justice") and entry.mandate.countries == ("AD", "ES")
    public = directory.public_fields(entry)
    assert "contact" not in public and public["closures"][1] == {"day": "2026-12-26", "until": None,
                                                                  "name": "Sant Esteve", "source": None}


def test_the_subject_areas_file_is_checked(tmp_path: Path) -> None:
    shipped = vocabulary.shipped()
    assert "general" in shipped.usable and shipped.areas["general"].all_acts
    bad = tmp_path / "areas.toml"
    bad.write_text('[meta]\nname = "x"\nversion = "2026-01-01"\n[[area]]\ncode = "a1"\nlabel = "A"\n'
                   'acts = ["42"]\nsources = ["s"]\nstatus = "reference"\n')
    with pytest.raises(vocabulary.VocabularyFileError, match="42"):
        vocabulary.load(bad)
    bad.write_text('[meta]\nname = "x"\nversion = "2026-01-01"\n' + 2 * (
        '[[area]]\ncode = "a1"\nlabel = "A"\nacts = []\nsources = ["s"]\nstatus = "reference"\n'))
    with pytest.raises(vocabulary.VocabularyFileError, match="twice"):
        vocabulary.load(bad)
