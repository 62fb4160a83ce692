"""What the chosen legal basis requires a request to contain, item by item, and what the draft lacks.

Pure: the basis's content rules, the draft as validated, the languages the requested state accepts and
the basis's suitability in, a :class:`Completeness` out. Each item cites its provision; an essential
item missing (or a basis that cannot carry the request) keeps the request from being issued.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..legal_bases.schemas import AssistanceType, BasisRules, ContentKey, ContentRule, RuleStatus
from .schemas import RequestContent

STORED_DATA = frozenset({AssistanceType.PRESERVATION_OF_STORED_DATA, AssistanceType.DISCLOSURE_OF_STORED_DATA})


@dataclass(frozen=True)
class Context:
    content: RequestContent
    confidential: bool
    accepted_languages: tuple[str, ...]
    attached_translations: tuple[str, ...]

    @property
    def assistance_types(self) -> set[AssistanceType]:
        return {item.type for item in self.content.assistance}


@dataclass(frozen=True)
class ItemResult:
    rule: ContentRule
    applies: bool
    present: bool | None

    @property
    def missing(self) -> bool:
        return self.applies and self.present is False

    def as_dict(self) -> dict[str, object]:
        return {"item": self.rule.item.value, "label": self.rule.label, "essential": self.rule.essential,
                "applies": self.applies, "present": self.present, "section": self.rule.section,
                "provision": self.rule.provision, "source": self.rule.source, "status": self.rule.status,
                "note": self.rule.note}


@dataclass(frozen=True)
class Completeness:
    items: tuple[ItemResult, ...]
    basis_problems: tuple[str, ...]

    @property
    def missing(self) -> list[ItemResult]:
        return [i for i in self.items if i.missing and i.rule.essential]

    @property
    def recommended(self) -> list[ItemResult]:
        return [i for i in self.items if i.missing and not i.rule.essential]

    @property
    def complete(self) -> bool:
        return not self.missing and not self.basis_problems


def _has(value: str | None) -> bool:
    return bool(value and value.strip())


def _stored(context: Context, check: Callable[[object], bool]) -> bool:
    items = [i for i in context.content.assistance if i.type in STORED_DATA]
    return bool(items) and all(check(i) for i in items)


def _preservation(context: Context, check: Callable[[object], bool]) -> bool:
    items = [i for i in context.content.assistance if i.type is AssistanceType.PRESERVATION_OF_STORED_DATA]
    return bool(items) and all(check(i) for i in items)


def _translation(context: Context) -> bool | None:
    if not context.accepted_languages:
        return None
    if context.content.language in context.accepted_languages:
        return True
    return any(language in context.accepted_languages for language in context.attached_translations)


def _present(item: ContentKey, context: Context) -> bool | None:
    content = context.content
    checks: dict[ContentKey, Callable[[], bool | None]] = {
        ContentKey.REQUESTING_AUTHORITY: lambda: True,
        ContentKey.REQUESTED_AUTHORITY: lambda: True,
        ContentKey.ISSUING_AUTHORITY_CONTACT: lambda: content.issuing_contact is not None and (
            _has(content.issuing_contact.phone) or _has(content.issuing_contact.email)),
        ContentKey.CONDUCTING_AUTHORITY: lambda: content.conducting_authority is not None and _has(
            content.conducting_authority.functions),
        ContentKey.PROCEEDINGS: lambda: content.proceedings is not None,
        ContentKey.OFFENCES: lambda: bool(content.offences) and all(o.provisions for o in content.offences),
        ContentKey.SUMMARY_OF_FACTS: lambda: _has(content.summary_of_facts),
        ContentKey.ASSISTANCE_DESCRIPTION: lambda: bool(content.assistance),
        ContentKey.PROCEDURES: lambda: _has(content.procedures),
        ContentKey.PERSONS_CONCERNED: lambda: bool(content.persons),
        ContentKey.PURPOSE: lambda: _has(content.purpose),
        ContentKey.URGENCY_REASONS: lambda: _has(content.urgency.reasons),
        ContentKey.CONFIDENTIALITY_REASONS: lambda: _has(content.confidentiality_reasons),
        ContentKey.TRANSLATION: lambda: _translation(context),
        ContentKey.STORED_DATA_DESCRIPTION: lambda: _stored(context, lambda i: _has(i.data_description)),
        ContentKey.DATA_LOCATION: lambda: _stored(context, lambda i: _has(i.data_location)),
        ContentKey.PRESERVATION_NECESSITY: lambda: _preservation(
            context, lambda i: _has(i.preservation_necessity)),
        ContentKey.INTENTION_TO_REQUEST_MLA: lambda: _preservation(
            context, lambda i: i.intends_mla_request is True),
        ContentKey.VALIDATING_AUTHORITY: lambda: _has(content.validating_authority),
        ContentKey.LEGAL_REMEDIES: lambda: _has(content.legal_remedies),
        ContentKey.EARLIER_REQUESTS: lambda: _has(content.earlier_requests),
    }
    return checks[item]()


def _applies(rule: ContentRule, context: Context) -> bool:
    wanted = context.assistance_types
    if rule.only_for and not wanted & set(rule.only_for):
        return False
    if rule.not_when_only and wanted and wanted <= set(rule.not_when_only):
        return False
    if rule.item is ContentKey.URGENCY_REASONS:
        urgency = context.content.urgency
        # Only an urgent request, or one with a date, owes its reasons.
        return urgency.urgent or urgency.requested_date is not None
    if rule.item is ContentKey.CONFIDENTIALITY_REASONS:
        return context.confidential
    if rule.item in {ContentKey.STORED_DATA_DESCRIPTION, ContentKey.DATA_LOCATION}:
        return bool(wanted & STORED_DATA)
    if rule.item in {ContentKey.PRESERVATION_NECESSITY, ContentKey.INTENTION_TO_REQUEST_MLA}:
        return AssistanceType.PRESERVATION_OF_STORED_DATA in wanted
    return True


def check(rules: BasisRules, context: Context, basis_problems: Sequence[str] = ()) -> Completeness:
    results = []
    for rule in rules.contents:
        applies = _applies(rule, context)
        results.append(ItemResult(rule=rule, applies=applies, present=_present(rule.item, context) if applies else None))
    return Completeness(items=tuple(results), basis_problems=tuple(basis_problems))


def value_of(item: ContentKey, content: RequestContent, *, requesting: str, requested: str,
             translations: Sequence[tuple[str, str]]) -> list[str]:
    """The draft's text for an item, as lines for the request document."""
    lines: list[str] = []
    if item is ContentKey.REQUESTING_AUTHORITY:
        lines = [requesting]
    elif item is ContentKey.REQUESTED_AUTHORITY:
        lines = [requested]
    elif item is ContentKey.ISSUING_AUTHORITY_CONTACT and content.issuing_contact:
        c = content.issuing_contact
        lines = [", ".join(x for x in (c.name, c.role, c.phone, c.email) if x)]
    elif item is ContentKey.CONDUCTING_AUTHORITY and content.conducting_authority:
        a = content.conducting_authority
        lines = [a.name + (f" ({a.functions})" if a.functions else "")]
    elif item is ContentKey.PROCEEDINGS and content.proceedings:
        lines = [f"{content.proceedings.nature.replace('_', ' ').capitalize()}: {content.proceedings.subject}"]
    elif item is ContentKey.OFFENCES:
        lines = [o.name + (f" ({o.legal_classification})" if o.legal_classification else "")
                 + (f": {'; '.join(o.provisions)}" if o.provisions else "")
                 + (f"; maximum penalty {o.maximum_penalty}" if o.maximum_penalty else "") for o in content.offences]
    elif item is ContentKey.SUMMARY_OF_FACTS and content.summary_of_facts:
        lines = [content.summary_of_facts]
    elif item is ContentKey.ASSISTANCE_DESCRIPTION:
        lines = [f"{i.type.value.replace('_', ' ').capitalize()}: {i.description}"
                 + (f" (at {i.location})" if i.location else "") + (" By video conference." if i.video_conference else "")
                 for i in content.assistance]
    elif item is ContentKey.PROCEDURES and content.procedures:
        lines = [content.procedures]
    elif item is ContentKey.PERSONS_CONCERNED:
        lines = [", ".join(x for x in (f"{p.name} ({p.role.replace('_', ' ')})",
                                       f"born {p.date_of_birth.isoformat()}" if p.date_of_birth else None,
                                       f"national of {p.nationality}" if p.nationality else None,
                                       f"at {p.location}" if p.location else None,
                                       f"identified by {p.identification}" if p.identification else None) if x)
                 for p in content.persons]
    elif item is ContentKey.PURPOSE and content.purpose:
        lines = [content.purpose]
    elif item is ContentKey.URGENCY_REASONS:
        u = content.urgency
        lines = [x for x in ("Urgent." if u.urgent else None,
                             f"Requested by {u.requested_date.isoformat()}." if u.requested_date else None,
                             u.reasons) if x]
    elif item is ContentKey.CONFIDENTIALITY_REASONS and content.confidentiality_reasons:
        lines = [content.confidentiality_reasons]
    elif item is ContentKey.TRANSLATION:
        lines = [f"Written in: {content.language}."] + [f"Translation into {language}: {status}."
                                                        for language, status in translations]
    elif item in {ContentKey.STORED_DATA_DESCRIPTION, ContentKey.DATA_LOCATION, ContentKey.PRESERVATION_NECESSITY,
                  ContentKey.INTENTION_TO_REQUEST_MLA}:
        attribute = {ContentKey.STORED_DATA_DESCRIPTION: "data_description", ContentKey.DATA_LOCATION: "data_location",
                     ContentKey.PRESERVATION_NECESSITY: "preservation_necessity",
                     ContentKey.INTENTION_TO_REQUEST_MLA: "intends_mla_request"}[item]
        for i in content.assistance:
            value = getattr(i, attribute)
            if value is True:
                lines.append("Yes: a request for mutual assistance will follow.")
            elif value:
                lines.append(str(value))
    elif item is ContentKey.VALIDATING_AUTHORITY and content.validating_authority:
        lines = [content.validating_authority]
    elif item is ContentKey.LEGAL_REMEDIES and content.legal_remedies:
        lines = [content.legal_remedies]
    elif item is ContentKey.EARLIER_REQUESTS and content.earlier_requests:
        lines = [content.earlier_requests]
    return lines


__all__ = ["Completeness", "Context", "ItemResult", "RuleStatus", "check", "value_of"]
