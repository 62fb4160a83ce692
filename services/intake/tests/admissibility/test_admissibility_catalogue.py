"""The rule files and acceptance lists: they load, they are versioned, and a broken file says where."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from comitas_intake.admissibility import (
    AcceptanceDataset,
    Catalogue,
    ComplaintFacts,
    RuleFileError,
    RuleStatus,
    assess,
    load_acceptances,
    load_catalogue,
)
from comitas_intake.admissibility.rules import LimitKind

EXPECTED_MECHANISMS = {"echr", "iachr", "achpr", "afchpr", "ccpr", "cat", "cerd", "cedaw", "cescr", "crc", "crpd",
                       "ced", "ced_ua", "sp", "wgad", "ecsr"}
EXPECTED_ZONES = {"echr": "Europe/Paris", "ecsr": "Europe/Paris", "iachr": "America/New_York",
                  "achpr": "Africa/Banjul", "afchpr": "Africa/Dar_es_Salaam"}


def test_the_catalogue_has_every_mechanism(catalogue: Catalogue) -> None:
    assert set(catalogue.codes()) == EXPECTED_MECHANISMS


def test_each_body_counts_in_its_own_time_zone(catalogue: Catalogue) -> None:
    for code, rules in catalogue.mechanisms.items():
        assert rules.time_zone == EXPECTED_ZONES.get(code, "Europe/Zurich"), code


def test_versions_are_combined_and_tied_to_the_file_bytes(catalogue: Catalogue, acceptances: AcceptanceDataset,
                                                          rules_dir: Path) -> None:
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}\+sha256\.[0-9a-f]{12}", catalogue.version)
    assert catalogue.version.startswith(max(catalogue.file_versions.values()))
    assert catalogue.sha256.startswith(catalogue.version.rsplit(".", 1)[1])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}\+sha256\.[0-9a-f]{12}", acceptances.version)
    # The same files give the same version; one changed byte gives another.
    assert load_catalogue(rules_dir).version == catalogue.version
    path = rules_dir / "cat.toml"
    path.write_text(path.read_text() + "\n# reviewed\n")
    assert load_catalogue(rules_dir).version != catalogue.version


def test_every_fixed_limit_has_a_calendar_rule_and_every_rule_a_source(catalogue: Catalogue) -> None:
    for code, rules in catalogue.mechanisms.items():
        for limit in (rules.time_limit, *rules.time_limit.further):
            if limit.kind is LimitKind.FIXED:
                assert limit.non_working_day is not None and limit.stop is not None, code
                # Where the source is silent the last day must not move (filing late is never safe).
                if limit.non_working_day.status is RuleStatus.UNCONFIRMED:
                    assert limit.non_working_day.moves is False, code
        for section in (rules.instrument, rules.outcome, rules.acceptance, rules.standing, rules.exhaustion,
                        rules.time_limit, rules.non_duplication, rules.interim_measures):
            assert section.provision and section.source and section.status in RuleStatus, code


def test_every_acceptance_key_a_rule_names_has_a_list(catalogue: Catalogue, acceptances: AcceptanceDataset) -> None:
    named = {key for rules in catalogue.mechanisms.values()
             for key in (*rules.acceptance.all_of, *rules.acceptance.any_of)}
    assert named <= set(acceptances.lists)
    assert {"esc_art2_declaration", "oas_member", "achr_party"} <= set(acceptances.lists)


def test_the_echr_list_has_the_46_council_of_europe_members(acceptances: AcceptanceDataset) -> None:
    echr = acceptances.lists["echr_party"]
    assert echr.complete and len(echr.states) == 46 and "RU" not in echr.states


# --- malformed files ---------------------------------------------------------------------------------


def _replace(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path.name}"
    path.write_text(text.replace(old, new, 1))


def test_a_malformed_rule_file_names_the_file_and_the_field(rules_dir: Path) -> None:
    _replace(rules_dir / "echr.toml", "length = 4\n", 'length = "four"\n')
    with pytest.raises(RuleFileError) as raised:
        load_catalogue(rules_dir)
    assert "echr.toml: time_limit.length: Input should be a valid integer" in str(raised.value)
    assert raised.value.file == "echr.toml"


def test_a_nested_error_gives_the_full_field_path(rules_dir: Path) -> None:
    _replace(rules_dir / "ccpr.toml", "length = 3\n", "length = 0\n")
    with pytest.raises(RuleFileError, match=r"ccpr\.toml: time_limit\.further\.0\.length: Input should be greater"):
        load_catalogue(rules_dir)


def test_an_unknown_field_is_an_error_not_a_silently_ignored_rule(rules_dir: Path) -> None:
    _replace(rules_dir / "cat.toml", "[non_duplication]\n", "[non_duplication]\nblock = \"pending\"\n")
    with pytest.raises(RuleFileError, match=r"cat\.toml: non_duplication\.block: Extra inputs are not permitted"):
        load_catalogue(rules_dir)


def test_an_inconsistent_limit_is_refused(rules_dir: Path) -> None:
    _replace(rules_dir / "cescr.toml", 'override_reason = "The author can show', 'note = "The author can show')
    with pytest.raises(RuleFileError, match=r"cescr\.toml: time_limit: .*soft limit needs the override_reason"):
        load_catalogue(rules_dir)


def test_an_unknown_time_zone_is_refused(rules_dir: Path) -> None:
    _replace(rules_dir / "echr.toml", 'time_zone = "Europe/Paris"', 'time_zone = "Europe/Strasbourg"')
    with pytest.raises(RuleFileError, match=r"echr\.toml: time_zone: .*unknown IANA time zone"):
        load_catalogue(rules_dir)


def test_broken_toml_names_the_file(rules_dir: Path) -> None:
    (rules_dir / "sp.toml").write_text("schema_version = 1\nversion = \n")
    with pytest.raises(RuleFileError, match=r"^sp\.toml: <toml>: "):
        load_catalogue(rules_dir)


def test_a_file_must_be_named_after_its_code(rules_dir: Path) -> None:
    (rules_dir / "sp.toml").rename(rules_dir / "special.toml")
    with pytest.raises(RuleFileError, match=r"special\.toml: code: 'sp' does not match the file name"):
        load_catalogue(rules_dir)


def test_a_malformed_acceptance_list_names_file_and_field(acceptances_dir: Path) -> None:
    _replace(acceptances_dir / "cat_art22.toml", '"AT", "BE"', '"AT", "Belgium"')
    with pytest.raises(RuleFileError, match=r"cat_art22\.toml: <file>: .*'Belgium' is not an ISO 3166-1"):
        load_acceptances(acceptances_dir)

    _replace(acceptances_dir / "cat_art22.toml", '"AT", "Belgium"', '"AT", "BE"')
    _replace(acceptances_dir / "echr_party.toml", "effective = 2022-09-16", 'effective = "soon"')
    with pytest.raises(RuleFileError, match=r"echr_party\.toml: withdrawals\.0\.effective: Input should be a valid date"):
        load_acceptances(acceptances_dir)


# --- the loader takes a directory, and the rules in it decide ---------------------------------------------


def test_a_modified_copy_of_the_rules_changes_the_assessment(
    rules_dir: Path, acceptances: AcceptanceDataset, catalogue: Catalogue,
    make_facts: Callable[..., ComplaintFacts],
) -> None:
    complaint = make_facts()
    today = date(2024, 1, 15)
    shipped = assess(complaint, catalogue=catalogue, acceptances=acceptances, today=today)
    assert shipped.finding("echr").time_limits[0].last_day == date(2024, 3, 6)  # from service, 6 November 2023

    # A (hypothetical) rule change: three months instead of four.
    _replace(rules_dir / "echr.toml", "length = 4\n", "length = 3\n")
    _replace(rules_dir / "echr.toml", 'version = "2026-12-02"', 'version = "2027-01-01"')
    changed_catalogue = load_catalogue(rules_dir)
    changed = assess(complaint, catalogue=changed_catalogue, acceptances=acceptances, today=today)
    assert changed.finding("echr").time_limits[0].last_day == date(2024, 2, 6)
    assert changed.finding("echr").rules_version == "2027-01-01"
    assert changed.rules_version.startswith("2027-01-01+sha256.")
    assert shipped.rules_version == catalogue.version != changed.rules_version
