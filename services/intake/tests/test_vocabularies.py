"""The vocabularies kept as data: they load, hold together, carry their attribution, and the rights
catalogue names each instrument the way the admissibility engine recognises it."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import pytest

from comitas_intake.admissibility import ComplaintFacts, Tri, load_acceptances, load_catalogue
from comitas_intake.admissibility.engine import assess_protocol_rights, match_rights
from comitas_intake.vocabularies import VocabularyFileError, language, load, shipped, state
from comitas_intake.vocabularies.catalogues import DATA_DIR


def test_the_types_of_acts_follow_the_huridocs_structure_with_attribution():
    acts = shipped().acts
    assert "HURIDOCS" in (acts.meta.attribution or "") and "list 4" in (acts.meta.structure or "")
    tops = {code for code in acts.terms if len(code) == 2}
    assert tops >= {"01", "02", "03", "10", "12", "33", "35", "36", "38", "51", "53", "90", "99"}
    # Every right's second level follows the list's pattern.
    for top in tops - {"90", "99"}:
        assert {top + s for s in ("01", "21", "31", "41")} <= acts.terms.keys(), top
    # Deep enough: four levels where the distinction matters.
    assert max(t.level for t in acts.terms.values()) >= 4
    assert {t.source for t in acts.terms.values()} == {"huridocs", "comitas"}


def test_the_rights_catalogue_matches_the_engine_mechanism_by_mechanism():
    """Each instrument's citation is recognised by exactly the mechanisms it lists, among those whose
    hearing is limited to their own instruments: a new instrument cannot be silently ignored."""
    catalogue = load_catalogue()
    limited = {code for code, rules in catalogue.mechanisms.items() if rules.rights_keywords}
    for instrument in shipped().rights.instruments.values():
        assert set(instrument.mechanisms) <= catalogue.mechanisms.keys(), instrument.code
        for article in instrument.articles:
            facts = ComplaintFacts(respondent_states=("FR",), rights_invoked=(instrument.citation(article),),
                                   filer_kind="individual", victim_is_filer=True)
            recognised = {code for code in limited if match_rights(catalogue[code], facts)[0] is Tri.YES}
            assert recognised == set(instrument.mechanisms) & limited, (instrument.code, article, recognised)


def test_echr_protocol_rights_are_checked_against_the_protocol_they_rest_on():
    catalogue, acceptances = load_catalogue(), load_acceptances()
    protocols = {p.id for p in catalogue["echr"].protocol_rights}
    for instrument in shipped().rights.instruments.values():
        if not instrument.code.startswith("ECHR-P"):
            continue
        for article in instrument.articles:
            facts = ComplaintFacts(respondent_states=("FR",), rights_invoked=(instrument.citation(article),),
                                   filer_kind="individual", victim_is_filer=True)
            checks = assess_protocol_rights(catalogue["echr"], facts, acceptances, date(2026, 11, 30))
            assert [c.protocol_right for c in checks] == [instrument.code.removeprefix("ECHR-").lower()], \
                (instrument.code, article)
            assert checks[0].protocol_right in protocols


def test_states_come_from_iso_with_kosovo_and_the_former_states():
    assert state("FR").kind == "current" and state("XK").kind == "user_assigned"
    soviet = state("SU")
    assert soviet.kind == "former" and soviet.withdrawn_on == date(1992, 8, 30)
    assert state("CS").withdrawn_on == date(2006, 9, 26)  # Serbia and Montenegro, after Czechoslovakia
    for bad in ("ZZ", "QQ", "fr", "FRA", ""):
        assert state(bad) is None
    assert language("fr").alpha_3 == "fra" and language("spa").code == "spa" and language("zz") is None


def test_a_malformed_vocabulary_file_names_the_file_and_the_field(tmp_path: Path):
    directory = Path(shutil.copytree(DATA_DIR, tmp_path / "data"))
    acts = directory / "types_of_acts.toml"
    acts.write_text(acts.read_text() + '\n[[term]]\ncode = "0299"\nlabel = "x"\nsource = "elsewhere"\n')
    with pytest.raises(VocabularyFileError, match=r"types_of_acts.toml: term\.\d+\.source"):
        load(directory)
    acts.write_text(acts.read_text().replace('source = "elsewhere"', 'source = "comitas"').replace(
        'code = "0299"', 'code = "880101"'))
    with pytest.raises(VocabularyFileError, match="without a parent term: 880101"):
        load(directory)
