"""Which legal bases bind two states for a type of assistance, best first: pure decisions over the data.

Three-valued throughout: a party list that does not name a state (and is not complete) answers
"unknown: check", never "no", and a basis whose parties are unknown is still offered, ranked after the
ones known to apply, with the reason. Nothing here reads a clock, a file or the network.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Literal

from comitas_shared.errors import InvalidInput

from .catalogue import LegalBases
from .rules import (
    AssistanceType,
    BasisRules,
    Condition,
    Covered,
    Displacement,
    PartyList,
    RuleStatus,
    is_iso_state,
)

Availability = Literal["available", "conditional", "unknown"]
_ORDER: dict[str, int] = {"available": 0, "conditional": 1, "unknown": 2}


class Tri(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


def all_of(answers: Sequence[Tri]) -> Tri:
    if any(a is Tri.NO for a in answers):
        return Tri.NO
    if all(a is Tri.YES for a in answers):
        return Tri.YES
    return Tri.UNKNOWN


def any_of(answers: Sequence[Tri]) -> Tri:
    if any(a is Tri.YES for a in answers):
        return Tri.YES
    if all(a is Tri.NO for a in answers):
        return Tri.NO
    return Tri.UNKNOWN


@dataclass(frozen=True)
class PartyAnswer:
    state: str
    list_key: str
    answer: Tri
    reason: str
    status: RuleStatus
    source: str
    as_of: str


@dataclass(frozen=True)
class PairAnswer:
    answer: Tri
    parties: tuple[PartyAnswer, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True)
class Offer:
    """A basis offered between the two states: how sure, why, and on what condition."""

    rules: BasisRules
    availability: Availability
    reasons: tuple[str, ...]
    parties: tuple[PartyAnswer, ...]
    covers: Covered | None
    conditions: tuple[Condition, ...]
    supplemented_by: tuple[str, ...] = ()
    displaced_for: tuple[AssistanceType, ...] = ()
    rank: int = 0

    @property
    def code(self) -> str:
        return self.rules.code


@dataclass(frozen=True)
class NotOffered:
    code: str
    short_name: str
    why: Literal["not_bound", "not_covered", "displaced"]
    reason: str


@dataclass(frozen=True)
class Offering:
    requesting: str
    requested: str
    assistance: AssistanceType | None
    offers: tuple[Offer, ...]
    not_offered: tuple[NotOffered, ...]
    version: str

    def find(self, code: str) -> Offer | None:
        return next((o for o in self.offers if o.code == code), None)


@dataclass(frozen=True)
class Suitability:
    """Whether a request's basis can carry it between its two states for everything it asks."""

    availability: Availability | None
    problems: tuple[str, ...] = field(default=())
    offer: Offer | None = None

    @property
    def bound(self) -> bool:
        return self.availability is not None


def state_code(value: str, *, field_name: str) -> str:
    """``value`` as an ISO 3166-1 alpha-2 code (upper case), or :class:`InvalidInput`."""
    code = value.strip().upper()
    if not is_iso_state(code):
        raise InvalidInput(f"{field_name}: {value!r} is not an ISO 3166-1 alpha-2 country code",
                           slug="invalid-state", title="Not an ISO 3166-1 country code", field=field_name)
    return code


def check_pair(requesting: str, requested: str) -> tuple[str, str]:
    first = state_code(requesting, field_name="requesting")
    second = state_code(requested, field_name="requested")
    if first == second:
        raise InvalidInput(f"the requesting and the requested state are both {first}: mutual legal assistance "
                           "is between two states", slug="same-state", title="Same state twice")
    return first, second


def answer_from_list(found: PartyList, state: str) -> PartyAnswer:
    def reply(answer: Tri, reason: str) -> PartyAnswer:
        return PartyAnswer(state, found.key, answer, reason, found.status, found.source, found.as_of.isoformat())

    as_of = f"(list as of {found.as_of.isoformat()}, {found.status.value})"
    for doubt in found.doubtful:
        if doubt.state == state:
            return reply(Tri.UNKNOWN, f"unknown: check whether {state} is bound: {found.title}: {doubt.note} {as_of}")
    if state in found.states:
        return reply(Tri.YES, f"{state} is bound: {found.title} {as_of}")
    if state in found.not_parties:
        return reply(Tri.NO, f"{state} is not bound: {found.title} {as_of}")
    if found.complete:
        return reply(Tri.NO, f"{state} is not on the complete list: {found.title} {as_of}")
    return reply(Tri.UNKNOWN, f"unknown: check whether {state} is bound: {found.title}; the list is incomplete "
                              f"{as_of}")


def pair_answer(bases: LegalBases, rules: BasisRules, requesting: str, requested: str) -> PairAnswer:
    """Whether ``rules`` binds the two states, from its party lists (and those of the bases it needs)."""
    parties_rule = rules.parties
    answers: list[PartyAnswer] = []
    if parties_rule.rule == "any_pair":
        tri = Tri.UNKNOWN
        reasons = [f"unknown: check whether {parties_rule.explanation} between {requesting} and {requested}"]
    elif parties_rule.rule == "both":
        found = bases.parties[parties_rule.lists[0]]
        answers = [answer_from_list(found, requesting), answer_from_list(found, requested)]
        tri = all_of([a.answer for a in answers])
        reasons = [a.reason for a in answers]
    else:
        first, second = (bases.parties[k] for k in parties_rule.lists)
        one_way = [answer_from_list(first, requesting), answer_from_list(second, requested)]
        other_way = [answer_from_list(second, requesting), answer_from_list(first, requested)]
        ways = [(all_of([a.answer for a in way]), way) for way in (one_way, other_way)]
        tri = any_of([answer for answer, _ in ways])
        # The reasons shown are those of the way round that decides: a yes, else an unknown, else the first.
        chosen = next((way for answer, way in ways if answer is tri), one_way)
        answers = list(chosen)
        reasons = [f"{parties_rule.explanation}: " + "; ".join(a.reason for a in chosen)]
    for code in rules.requires_also:
        needed = pair_answer(bases, bases[code], requesting, requested)
        tri = all_of([tri, needed.answer])
        answers += needed.parties
        reasons.append(f"it supplements {bases[code].short_name}, which must bind both too: "
                       + "; ".join(needed.reasons))
    return PairAnswer(tri, tuple(answers), tuple(reasons))


def offer(bases: LegalBases, requesting: str, requested: str,
          assistance: AssistanceType | None = None) -> Offering:
    """The bases available between ``requesting`` and ``requested`` (for ``assistance`` if given), best
    first: known to apply before conditional before "unknown: check", then by each basis's priority."""
    requesting, requested = check_pair(requesting, requested)
    answers = {code: pair_answer(bases, rules, requesting, requested) for code, rules in bases.bases.items()}
    # What displaces what, between these two states: only a basis known to apply displaces another.
    displacing: dict[str, list[tuple[BasisRules, Displacement]]] = {}
    for code, rules in bases.bases.items():
        if answers[code].answer is Tri.YES:
            for displacement in rules.displaces:
                for displaced in displacement.bases:
                    displacing.setdefault(displaced, []).append((rules, displacement))

    offers: list[Offer] = []
    refused: list[NotOffered] = []
    for code, rules in bases.bases.items():
        answer = answers[code]
        if answer.answer is Tri.NO:
            refused.append(NotOffered(code, rules.short_name, "not_bound",
                                      "not binding between these states: " + "; ".join(answer.reasons)))
            continue
        covered = rules.covers(assistance) if assistance is not None else None
        if assistance is not None and covered is None:
            refused.append(NotOffered(code, rules.short_name, "not_covered",
                                      f"{rules.short_name} does not cover {assistance.value.replace('_', ' ')}"))
            continue
        by = [(other, d) for other, d in displacing.get(code, []) if assistance is None or assistance in d.assistance]
        if assistance is not None and by:
            other, displacement = by[0]
            refused.append(NotOffered(code, rules.short_name, "displaced",
                                      f"{other.short_name} applies between {requesting} and {requested} and "
                                      f"replaces it for {assistance.value.replace('_', ' ')}: "
                                      f"{displacement.explanation} ({displacement.provision})"))
            continue
        availability: Availability
        if answer.answer is Tri.UNKNOWN:
            availability = "unknown"
        elif rules.conditions:
            availability = "conditional"
        else:
            availability = "available"
        reasons = list(answer.reasons)
        if covered is not None:
            reasons.append(f"covers {covered.type.value.replace('_', ' ')} ({covered.provision})")
        reasons += [f"conditional: {c.text} ({c.provision})" for c in rules.conditions]
        displaced_for = tuple(sorted({a for _, d in by for a in d.assistance})) if assistance is None else ()
        offers.append(Offer(rules=rules, availability=availability, reasons=tuple(reasons), parties=answer.parties,
                            covers=covered, conditions=rules.conditions, displaced_for=displaced_for))

    offers.sort(key=lambda o: (_ORDER[o.availability], o.rules.priority, o.code))
    offered_codes = {o.code for o in offers}
    ranked = tuple(
        Offer(rules=o.rules, availability=o.availability, reasons=o.reasons, parties=o.parties, covers=o.covers,
              conditions=o.conditions, displaced_for=o.displaced_for, rank=index,
              supplemented_by=tuple(s.code for s in offers if s.rules.supplements == o.code and s.code in offered_codes))
        for index, o in enumerate(offers, start=1))
    return Offering(requesting=requesting, requested=requested, assistance=assistance, offers=ranked,
                    not_offered=tuple(sorted(refused, key=lambda r: r.code)), version=bases.version)


def suitability(bases: LegalBases, code: str, requesting: str, requested: str,
                assistance: Sequence[AssistanceType]) -> Suitability:
    """Whether a request on basis ``code`` between the two states may ask for everything in ``assistance``.
    ``problems`` says what stands in the way; a request with problems cannot be issued."""
    if code not in bases:
        return Suitability(None, (f"no legal basis {code!r}",))
    rules = bases[code]
    general = offer(bases, requesting, requested)
    found = general.find(code)
    if found is None:
        reason = next((r.reason for r in general.not_offered if r.code == code), "not offered")
        return Suitability(None, (reason,))
    problems: list[str] = []
    for wanted in dict.fromkeys(assistance):
        if rules.covers(wanted) is None:
            problems.append(f"{rules.short_name} does not cover {wanted.value.replace('_', ' ')}")
        elif wanted in found.displaced_for:
            specific = offer(bases, requesting, requested, wanted)
            reason = next((r.reason for r in specific.not_offered if r.code == code), "displaced")
            problems.append(reason)
    return Suitability(found.availability, tuple(problems), found)
