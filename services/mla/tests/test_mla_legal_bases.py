"""Legal bases as data: which bases two states can use for a type of assistance, best first, and a
malformed file that stops start-up naming the file and the field."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from comitas_mla.legal_bases.catalogue import BasisFileError, LegalBases, load_legal_bases
from comitas_mla.legal_bases.domain import offer
from comitas_mla.legal_bases.rules import AssistanceType, RuleStatus
from comitas_shared.errors import InvalidInput

EU_EIO = ["AT", "BE", "BG", "HR", "CY", "CZ", "EE", "FI", "FR", "DE", "GR", "HU", "IT", "LV", "LT", "LU", "MT",
          "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE"]
EVIDENCE = [AssistanceType.TAKING_EVIDENCE, AssistanceType.HEARING_WITNESS, AssistanceType.SEARCH_AND_SEIZURE,
            AssistanceType.BANK_RECORDS, AssistanceType.HEARING_BY_VIDEO_CONFERENCE]


def codes(bases: LegalBases, requesting: str, requested: str, assistance: AssistanceType | None) -> list[str]:
    return [o.code for o in offer(bases, requesting, requested, assistance).offers]


# --- the data itself ------------------------------------------------------------------------------------


def test_every_basis_the_issue_names_is_there_and_every_rule_has_its_source(bases: LegalBases) -> None:
    assert set(bases.bases) == {"untoc_art18", "uncac_art46", "coe_1959", "coe_1959_ap1", "coe_1959_ap2",
                                "eu_2000_mla", "eu_no_is_2003", "eio", "eu_2018_1805", "eu_uk_tca",
                                "budapest_art29", "budapest_art31", "bilateral"}
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}\+sha256\.[0-9a-f]{12}", bases.version)
    for code, rules in bases.bases.items():
        sourced = [rules.instrument, rules.parties, *rules.conditions, *rules.coverage, *rules.displaces,
                   *rules.contents, *rules.refusal_grounds, *rules.time_limits, rules.language]
        for rule in sourced:
            assert rule.provision and rule.source and rule.status in RuleStatus, (code, rule)
    for key, found in bases.parties.items():
        assert found.as_of and found.source and found.status in RuleStatus, key


def test_the_eio_list_is_the_closed_list_of_member_states_but_ireland_and_denmark(bases: LegalBases) -> None:
    eio = bases.parties["eio_bound"]
    assert eio.complete and sorted(eio.states) == sorted(EU_EIO)
    assert "IE" not in eio.states and "DK" not in eio.states


def test_the_eio_time_limits_are_the_directives(bases: LegalBases) -> None:
    eio = bases["eio"]
    acknowledgement, recognition, execution = (eio.time_limit(i) for i in ("acknowledgement", "recognition", "execution"))
    assert acknowledgement and (acknowledgement.length, acknowledgement.unit, acknowledgement.start) == (1, "weeks", "receipt")
    assert acknowledgement.provision.startswith("Directive 2014/41/EU Art 16(1)")
    assert recognition and (recognition.length, recognition.unit, recognition.start) == (30, "calendar_days", "receipt")
    assert recognition.extension and recognition.extension.max_amount == 30
    assert "Art 12(5)" in recognition.extension.provision
    assert execution and (execution.length, execution.unit, execution.start) == (90, "calendar_days", "recognition")
    assert execution.extension is None and execution.impracticable and "Art 12(6)" in execution.impracticable.provision
    for other in set(bases.bases) - {"eio"}:
        assert all(t.kind == "as_soon_as_possible" for t in bases[other].time_limits), other


def test_untoc_requires_para_15_and_lists_para_21_grounds(bases: LegalBases) -> None:
    untoc = bases["untoc_art18"]
    essential = {c.item.value: c.provision for c in untoc.contents if c.essential}
    assert essential["summary_of_facts"] == "UNTOC Art 18(15)(c)"
    assert essential["purpose"] == "UNTOC Art 18(15)(f)"
    assert {g.provision for g in untoc.refusal_grounds} == {f"UNTOC Art 18(21)({x})" for x in "abcd"}
    budapest = {c.provision for c in bases["budapest_art29"].contents}
    assert budapest == {f"CETS 185 Art 29(2)({x})" for x in "abcdef"}


# --- acceptance 1: which bases between which states ----------------------------------------------------


@pytest.mark.parametrize("assistance", EVIDENCE)
@pytest.mark.parametrize(("requesting", "requested"), [("FR", "DE"), ("IT", "ES"), ("PL", "NL")])
def test_between_two_eio_states_evidence_goes_by_eio_not_the_1959_or_2000_conventions(
        bases: LegalBases, requesting: str, requested: str, assistance: AssistanceType) -> None:
    offering = offer(bases, requesting, requested, assistance)
    found = [o.code for o in offering.offers]
    assert found[0] == "eio" and offering.offers[0].availability == "available"
    assert not {"coe_1959", "coe_1959_ap1", "coe_1959_ap2", "eu_2000_mla"} & set(found)
    displaced = {n.code: n for n in offering.not_offered if n.why == "displaced"}
    assert "eu_2000_mla" in displaced and all("Art 34" in n.reason for n in displaced.values())


def test_between_two_eio_states_service_of_documents_goes_by_the_2000_convention(bases: LegalBases) -> None:
    offering = offer(bases, "FR", "DE", AssistanceType.SERVICE_OF_DOCUMENTS)
    assert offering.offers[0].code == "eu_2000_mla"
    assert "eio" not in [o.code for o in offering.offers]
    assert {n.code: n.why for n in offering.not_offered}["eio"] == "not_covered"
    # Joint investigation teams and spontaneous information stay with the Conventions too.
    assert codes(bases, "FR", "DE", AssistanceType.JOINT_INVESTIGATION_TEAM)[0] == "eu_2000_mla"
    assert "eu_2000_mla" in codes(bases, "FR", "DE", AssistanceType.SPONTANEOUS_EXCHANGE_OF_INFORMATION)


@pytest.mark.parametrize("other", ["IE", "DK"])
def test_with_ireland_or_denmark_there_is_no_eio(bases: LegalBases, other: str) -> None:
    for requesting, requested in (("FR", other), (other, "FR")):
        offering = offer(bases, requesting, requested, AssistanceType.TAKING_EVIDENCE)
        assert "eio" not in [o.code for o in offering.offers]
        assert {n.code: n.why for n in offering.not_offered}["eio"] == "not_bound"
    # …and the 1959 Convention carries evidence between them (no EIO to displace it).
    assert "coe_1959" in codes(bases, "FR", "DK", AssistanceType.TAKING_EVIDENCE)


def test_between_an_eu_state_and_brazil_un_conventions_are_conditional_and_never_the_1959_convention(
        bases: LegalBases) -> None:
    for assistance in (AssistanceType.BANK_RECORDS, AssistanceType.TAKING_EVIDENCE, None):
        offering = offer(bases, "FR", "BR", assistance)
        by_code = {o.code: o for o in offering.offers}
        assert "coe_1959" not in by_code and "eio" not in by_code and "eu_2000_mla" not in by_code
        assert by_code["untoc_art18"].availability == "conditional"
        assert by_code["uncac_art46"].availability == "conditional"
        assert "organized criminal group" in by_code["untoc_art18"].conditions[0].text
        assert by_code["bilateral"].availability == "unknown"
        assert set(by_code) <= {"untoc_art18", "uncac_art46", "bilateral", "budapest_art29", "budapest_art31"}
        if assistance is not None:  # (both are Budapest parties: Art 29 preservation is available)
            assert not [o for o in offering.offers if o.availability == "available"]


def test_where_the_data_does_not_say_the_answer_is_unknown_check(bases: LegalBases) -> None:
    offering = offer(bases, "TV", "PW", AssistanceType.TAKING_EVIDENCE)
    assert offering.offers, "something is offered, with a check"
    for found in offering.offers:
        assert found.availability == "unknown"
        assert any("unknown: check" in reason for reason in found.reasons), found.reasons
    assert {o.code for o in offering.offers} == {"untoc_art18", "uncac_art46", "bilateral"}


def test_budapest_preservation_only_where_both_states_are_parties(bases: LegalBases) -> None:
    preservation = AssistanceType.PRESERVATION_OF_STORED_DATA
    assert codes(bases, "FR", "US", preservation)[0] == "budapest_art29"
    assert "budapest_art29" in codes(bases, "US", "BR", preservation)
    for requesting, requested in (("FR", "CN"), ("CN", "FR"), ("IN", "US")):
        offering = offer(bases, requesting, requested, preservation)
        assert "budapest_art29" not in [o.code for o in offering.offers]
        assert {n.code: n.why for n in offering.not_offered}["budapest_art29"] == "not_bound"
    # Art 31 works through an MLA treaty or the Art 27 procedure: conditional, with the condition stated.
    stored = {o.code: o for o in offer(bases, "FR", "US", AssistanceType.DISCLOSURE_OF_STORED_DATA).offers}
    assert stored["budapest_art31"].availability == "conditional"
    assert "Art 27" in stored["budapest_art31"].conditions[0].text


def test_the_uk_and_norway_get_their_agreements_and_freezing_goes_by_the_regulation(bases: LegalBases) -> None:
    uk = offer(bases, "GB", "FR", AssistanceType.TAKING_EVIDENCE)
    assert uk.offers[0].code == "eu_uk_tca"
    assert "eu_uk_tca" in {o.code: o for o in uk.offers}["coe_1959"].supplemented_by
    assert codes(bases, "FR", "NO", AssistanceType.HEARING_BY_VIDEO_CONFERENCE)[0] == "eu_no_is_2003"
    assert codes(bases, "FR", "DE", AssistanceType.FREEZING_OF_ASSETS)[0] == "eu_2018_1805"
    assert "eu_2018_1805" not in codes(bases, "FR", "DK", AssistanceType.FREEZING_OF_ASSETS)


@pytest.mark.parametrize(("requesting", "requested", "slug"), [
    ("FR", "FR", "same-state"), ("fr", "FR", "same-state"), ("FR", "ZZ", "invalid-state"), ("XX", "DE", "invalid-state"),
    ("F1", "DE", "invalid-state")])
def test_the_same_state_twice_or_a_code_that_is_not_iso_is_refused(bases: LegalBases, requesting: str,
                                                                   requested: str, slug: str) -> None:
    with pytest.raises(InvalidInput) as refused:
        offer(bases, requesting, requested, None)
    assert refused.value.slug == slug


async def test_the_api_lists_bases_best_first_and_answers_problems(stack, authorities) -> None:
    fr = await authorities.new("FR")
    listed = await fr.api.get("/v1/legal-bases", params={"requesting": "FR", "requested": "BR",
                                                         "assistance": "bank_records"})
    assert listed.status_code == 200, listed.text
    found = listed.json()
    assert [b["code"] for b in found["bases"]] == ["untoc_art18", "uncac_art46", "bilateral"]
    assert [b["rank"] for b in found["bases"]] == [1, 2, 3]
    assert found["bases"][0]["availability"] == "conditional" and found["bases"][0]["conditions"][0]["provision"]
    assert found["bases"][0]["covers"]["provision"].startswith("UNTOC Art 18(3)(f)")
    assert "coe_1959" in {n["code"] for n in found["not_offered"]}
    for params, slug in (({"requesting": "FR", "requested": "FR"}, "same-state"),
                         ({"requesting": "FR", "requested": "QQ"}, "invalid-state")):
        refused = await fr.api.get("/v1/legal-bases", params=params)
        assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"].endswith(slug)
    unknown = await fr.api.get("/v1/legal-bases", params={"requesting": "FR", "requested": "DE", "assistance": "x"})
    assert unknown.status_code == 422 and unknown.headers["content-type"] == "application/problem+json"
    one = await fr.api.get("/v1/legal-bases/eio")
    assert one.status_code == 200 and one.json()["rules"]["layout"] == "eio_annex_a"
    assert (await fr.api.get("/v1/legal-bases/nope")).status_code == 404
    catalogue = (await fr.api.get("/v1/legal-bases/catalogue")).json()
    assert len(catalogue["bases"]) == 13 and catalogue["version"] == found["version"]


# --- acceptance 7: malformed data stops start-up ---------------------------------------------------------


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


@pytest.mark.parametrize(("file", "old", "new", "field"), [
    ("bases/eio.toml", 'provision = "Directive 2014/41/EU Art 16(1); Annex B"\n', "", "time_limits.0.provision"),
    ("bases/untoc_art18.toml", 'status = "confirmed"', 'status = "sure"', "coverage.2.status"),
    ("bases/eio.toml", "length = 30\n", 'length = "thirty"\n', "time_limits.1.length"),
    ("bases/coe_1959.toml", 'type = "service_of_documents"', 'type = "teleportation"', "coverage.4.type"),
    ("bases/bilateral.toml", 'code = "treaty_ground"', 'code = "treaty_ground"\nfavourite = true', "refusal_grounds.0.favourite"),
    ("parties/eio_bound.toml", '"AT", "BE"', '"AT", "BEL"', "<file>"),
    ("bases/eio.toml", 'lists = ["eio_bound"]', 'lists = ["eio_bound_typo"]', "parties.lists.0"),
    ("bases/eio.toml", 'bases = ["coe_1959",', 'bases = ["coe_1960",', "displaces.0.bases.0"),
])
def test_a_malformed_file_names_the_file_and_the_field(data_dir: Path, file: str, old: str, new: str,
                                                       field: str) -> None:
    _replace(data_dir / file, old, new)
    with pytest.raises(BasisFileError) as broken:
        load_legal_bases(data_dir)
    assert broken.value.file == Path(file).name
    assert any(where == field for where, _ in broken.value.problems), broken.value.problems
    assert Path(file).name in str(broken.value) and field in str(broken.value)


def test_a_malformed_file_stops_the_service_at_start_up(data_dir: Path, tmp_path: Path) -> None:
    from comitas_mla.main import create_app
    from comitas_mla.settings import MlaSettings

    _replace(data_dir / "bases/eio.toml", "length = 90\n", "length = -90\n")
    settings = MlaSettings(environment="test", database_url=f"sqlite+aiosqlite:///{tmp_path / 'mla.db'}",
                           legal_bases_dir=str(data_dir))
    with pytest.raises(BasisFileError, match=r"eio\.toml: time_limits\.2\.length"):
        create_app(settings)


def test_the_version_follows_the_bytes_of_the_files(data_dir: Path, bases: LegalBases) -> None:
    assert load_legal_bases(data_dir).version == bases.version
    path = data_dir / "parties/budapest_parties.toml"
    path.write_text(path.read_text() + "\n# reviewed\n")
    assert load_legal_bases(data_dir).version != bases.version
