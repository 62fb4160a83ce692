"""Who could take a case: pure ranking of the directory's institutions against a complaint's facts.

Three criteria, each giving a reason whether it matched or not (a person choosing the recipient sees
why an institution is listed, and what it lacks):

- the respondent State: the institution acts on it (its mandate's ``countries``, or its own country
  when the mandate names none);
- the subject matter: an area of its mandate covers a type of act of the complaint's incidents
  (identity's subject-area vocabulary maps areas to the top-level codes of intake's types of acts;
  ``*`` covers every act; an area with no acts is a kind of respondent or procedure, not matched here);
- the language: it works in a language of the complaint (its submission, the victim's preferred or
  spoken languages).

An institution is a candidate when it accepts referrals, is active, is not the sender, and matches the
respondent State or the subject matter; candidates are ranked by the criteria matched (State first),
then by name.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

STATE, SUBJECT, LANGUAGE = "respondent_state", "subject_matter", "language"
WEIGHTS = {STATE: 4, SUBJECT: 2, LANGUAGE: 1}


@dataclass(frozen=True)
class ComplaintFacts:
    respondent_states: frozenset[str]
    acts: frozenset[str] = frozenset()
    languages: frozenset[str] = frozenset()

    @classmethod
    def of(cls, complaint: Mapping[str, Any]) -> ComplaintFacts:
        """The facts ranking uses, from intake's complaint view (identities withheld: none are needed)."""
        states = {str(s).upper() for s in complaint.get("respondent_states") or []}
        acts: set[str] = set()
        for incident in complaint.get("incidents") or []:
            if isinstance(incident, dict):
                acts |= {top_level(str(code)) for code in incident.get("act_types") or []}
        spoken = complaint.get("languages") or {}
        languages = {str(x).lower() for x in spoken.get("spoken") or []} if isinstance(spoken, dict) else set()
        if isinstance(spoken, dict):
            languages |= {str(spoken[k]).lower() for k in ("preferred", "submission") if spoken.get(k)}
        return cls(frozenset(states), frozenset(a for a in acts if a), frozenset(languages))


def top_level(code: str) -> str:
    """``02.1.3`` → ``02``: the vocabulary's top-level code, which subject areas are mapped to."""
    return code.split(".", 1)[0].strip()


@dataclass(frozen=True)
class Institution:
    institution_id: str
    name: str
    kind: str
    country: str
    languages: tuple[str, ...]
    subject_areas: tuple[str, ...]
    countries: tuple[str, ...]
    accepts_referrals: bool
    active: bool


@dataclass(frozen=True)
class Reason:
    criterion: str
    matched: bool
    detail: str


@dataclass(frozen=True)
class Candidate:
    institution: Institution
    score: int
    reasons: tuple[Reason, ...] = field(default_factory=tuple)


def rank(facts: ComplaintFacts, institutions: Sequence[Institution], *, sender: str,
         areas: Mapping[str, Sequence[str]]) -> list[Candidate]:
    """The candidates for ``facts`` among ``institutions``, best first. ``areas`` maps each subject-area
    code to the top-level act codes it covers (empty mapping: the vocabulary is not known, and the
    subject matter is reported as not assessed)."""
    found: list[Candidate] = []
    for institution in institutions:
        if institution.institution_id == sender or not institution.accepts_referrals or not institution.active:
            continue
        reasons = (_state(facts, institution), _subject(facts, institution, areas), _language(facts, institution))
        if not (reasons[0].matched or reasons[1].matched):
            continue
        score = sum(WEIGHTS[r.criterion] for r in reasons if r.matched)
        found.append(Candidate(institution, score, reasons))
    return sorted(found, key=lambda c: (-c.score, c.institution.name, c.institution.institution_id))


def _state(facts: ComplaintFacts, institution: Institution) -> Reason:
    acts_on = set(institution.countries) or {institution.country}
    matched = sorted(facts.respondent_states & acts_on)
    if matched:
        return Reason(STATE, True, f"acts on {', '.join(matched)}, the respondent State")
    if not facts.respondent_states:
        return Reason(STATE, False, "the complaint names no respondent State")
    return Reason(STATE, False, f"does not act on {', '.join(sorted(facts.respondent_states))}")


def _subject(facts: ComplaintFacts, institution: Institution, areas: Mapping[str, Sequence[str]]) -> Reason:
    if not areas:
        return Reason(SUBJECT, False, "the subject-area vocabulary could not be read: subject matter not assessed")
    if not institution.subject_areas:
        return Reason(SUBJECT, False, "its directory entry names no subject area")
    covering: list[str] = []
    for area in institution.subject_areas:
        acts = set(areas.get(area, ()))
        if "*" in acts or (facts.acts and acts & facts.acts):
            covering.append(area)
    if covering:
        what = ", ".join(sorted(facts.acts)) if facts.acts else "every type of act"
        return Reason(SUBJECT, True, f"its mandate ({', '.join(covering)}) covers the acts complained of ({what})")
    if not facts.acts:
        return Reason(SUBJECT, False, "the complaint's incidents name no type of act")
    return Reason(SUBJECT, False, f"no area of its mandate covers {', '.join(sorted(facts.acts))}")


def _language(facts: ComplaintFacts, institution: Institution) -> Reason:
    shared = sorted(facts.languages & {x.lower() for x in institution.languages})
    if shared:
        return Reason(LANGUAGE, True, f"works in {', '.join(shared)}")
    if not facts.languages:
        return Reason(LANGUAGE, False, "the complaint states no language")
    return Reason(LANGUAGE, False, f"does not work in {', '.join(sorted(facts.languages))}")


def newer(incoming: int, held: int) -> bool:
    return incoming > held
