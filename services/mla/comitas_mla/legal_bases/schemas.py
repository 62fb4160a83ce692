"""API shapes of the legal bases, and the rule models other features read (re-exported from .rules)."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, StrictBool

from .catalogue import BasisFileError, LegalBases, load_legal_bases
from .domain import Availability, Offer, Offering, Suitability, Tri
from .rules import (
    AssistanceType,
    BasisRules,
    ContentKey,
    ContentRule,
    Covered,
    RefusalGround,
    RuleStatus,
    TimeLimit,
)

__all__ = [
    "AssistanceType",
    "Availability",
    "BasisFileError",
    "BasisRules",
    "ContentKey",
    "ContentRule",
    "LegalBases",
    "Offer",
    "Offering",
    "RefusalGround",
    "RuleStatus",
    "Suitability",
    "TimeLimit",
    "Tri",
    "load_legal_bases",
]


class SourceOut(BaseModel):
    provision: str
    source: str
    status: RuleStatus
    note: str | None = None

    @classmethod
    def of(cls, rule: Covered | Any) -> SourceOut:
        return cls(provision=rule.provision, source=rule.source, status=rule.status, note=rule.note)


class ConditionOut(SourceOut):
    id: str
    text: str


class PartyAnswerOut(BaseModel):
    state: str
    list: str = Field(description="the party list the answer comes from (data/parties/<list>.toml)")
    answer: Tri
    reason: str
    status: RuleStatus
    source: str
    as_of: str


class TimeLimitOut(SourceOut):
    id: str
    title: str
    kind: str
    start: str
    length: int | None
    unit: str | None
    hard: StrictBool
    extension: str | None = None
    if_impracticable: str | None = None


class OfferOut(BaseModel):
    rank: int
    code: str
    name: str
    short_name: str
    family: str
    availability: Availability = Field(description="available; conditional (see conditions); unknown: check")
    reasons: list[str]
    conditions: list[ConditionOut]
    parties: list[PartyAnswerOut]
    covers: SourceOut | None = Field(None, description="the provision covering the assistance asked about")
    supplements: str | None
    supplemented_by: list[str]
    displaced_for: list[AssistanceType] = Field(
        description="assistance for which another basis that binds both states replaces this one")
    time_limits: list[TimeLimitOut]
    document: str

    @classmethod
    def of(cls, offer: Offer) -> OfferOut:
        rules = offer.rules
        return cls(
            rank=offer.rank, code=rules.code, name=rules.name, short_name=rules.short_name, family=rules.family,
            availability=offer.availability, reasons=list(offer.reasons),
            conditions=[ConditionOut(id=c.id, text=c.text, provision=c.provision, source=c.source, status=c.status,
                                     note=c.note) for c in offer.conditions],
            parties=[PartyAnswerOut(state=p.state, list=p.list_key, answer=p.answer, reason=p.reason, status=p.status,
                                    source=p.source, as_of=p.as_of) for p in offer.parties],
            covers=SourceOut.of(offer.covers) if offer.covers else None, supplements=rules.supplements,
            supplemented_by=list(offer.supplemented_by), displaced_for=list(offer.displaced_for),
            time_limits=[time_limit_out(t) for t in rules.time_limits], document=rules.layout,
        )


def time_limit_out(limit: TimeLimit) -> TimeLimitOut:
    extension = (f"at most {limit.extension.max_amount} {limit.extension.unit.replace('_', ' ')}, with reasons "
                 f"({limit.extension.provision})") if limit.extension else None
    impracticable = f"{limit.impracticable.text} ({limit.impracticable.provision})" if limit.impracticable else None
    return TimeLimitOut(id=limit.id, title=limit.title, kind=limit.kind, start=limit.start, length=limit.length,
                        unit=limit.unit, hard=limit.hard, extension=extension, if_impracticable=impracticable,
                        provision=limit.provision, source=limit.source, status=limit.status, note=limit.note)


class NotOfferedOut(BaseModel):
    code: str
    short_name: str
    why: str
    reason: str


class OfferingOut(BaseModel):
    requesting: str
    requested: str
    assistance: AssistanceType | None
    version: str = Field(description="the legal-basis data the answer was computed from")
    bases: list[OfferOut] = Field(description="available bases, best first")
    not_offered: list[NotOfferedOut]

    @classmethod
    def of(cls, offering: Offering) -> OfferingOut:
        return cls(requesting=offering.requesting, requested=offering.requested, assistance=offering.assistance,
                   version=offering.version, bases=[OfferOut.of(o) for o in offering.offers],
                   not_offered=[NotOfferedOut(code=n.code, short_name=n.short_name, why=n.why, reason=n.reason)
                                for n in offering.not_offered])


class BasisOut(BaseModel):
    code: str
    version: str
    data_version: str
    rules: dict[str, Any]


class PartyListOut(BaseModel):
    key: str
    title: str
    as_of: str
    complete: StrictBool
    status: RuleStatus
    source: str
    note: str | None
    states: list[str]
    not_parties: list[str]
    doubtful: list[dict[str, str]]


class CatalogueOut(BaseModel):
    version: str
    bases: list[BasisOut]
    party_lists: list[PartyListOut]
