"""Load, decide, persist, stage events. Never commits.

A filing's content is the complaint's: each preparation opens the complaint with a stated purpose
(written to the audit log by complaints) and keeps only the categories the victim's consent lets go to
the body; what the preparation found (items missing, blocks) is kept in clear, the content never.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.app import Platform
from comitas_shared.auth import InstitutionId, Principal
from comitas_shared.errors import Conflict, NotFound
from comitas_shared.events.outbox import add_event
from comitas_shared.pagination import Page, PageRequest

from .. import case_deadlines
from ..complaints import service as complaints
from ..consent import service as consent
from ..consent.schemas import Category, Purpose
from ..models import tables
from ..protection.service import ComplaintErased, KeyRing
from . import document, domain, repository

# What proceedings and compliance share with filings (a feature is reached only through its service).
from .domain import PUBLICATION_CHECK as PUBLICATION_CHECK
from .models import Filing
from .rules import Body, Rules, shipped_rules
from .schemas import (
    Annex,
    BlockOut,
    BodiesOut,
    BodyOut,
    FilingCreate,
    FilingOut,
    FilingStatusChange,
    FilingUpdate,
    ItemOut,
    MandateOut,
    MissingOut,
    PreparationOut,
    ProposalOut,
    ProposalsOut,
    RuleOut,
    SectionOut,
)

OPEN = frozenset({"received", "under_assessment", "active"})
CATEGORIES = (Category.IDENTITY, Category.CONTACT, Category.NARRATIVE, Category.EVIDENCE)


class FilingNotFound(NotFound):
    slug, title = "filing-not-found", "Filing not found"


class ComplaintNotOpen(Conflict):
    slug, title = "complaint-not-open", "Complaint not open"


def rules() -> Rules:
    return shipped_rules()


def _rule(citation: Any) -> RuleOut:
    return RuleOut(provision=citation.provision, source=citation.source, status=citation.status)


def to_out(row: Filing) -> FilingOut:
    body = rules().bodies[row.body]
    return FilingOut(
        id=row.id, complaint_id=row.complaint_id, body=row.body, mechanism=body.mechanism,
        status=domain.Status(row.status), language=row.language, translation=domain.Translation(row.translation),
        accepted_languages=list(body.languages), mandates=list(row.mandates),
        annexes=[Annex.model_validate(a) for a in row.annexes], complete=row.complete,
        missing=[MissingOut.model_validate(m) for m in row.missing], blocks=list(row.blocks),
        confidentiality_requested=row.confidentiality_requested, prepared_at=row.prepared_at,
        rules_version=row.rules_version, filed_on=row.filed_on, channel=row.channel, reference=row.reference,
        status_on=row.status_on, created_at=row.created_at, updated_at=row.updated_at, version=row.version)


def bodies_out() -> BodiesOut:
    known = rules()
    return BodiesOut(version=known.version, bodies=[BodyOut(
        code=b.code, name=b.name, mechanism=b.mechanism, form=b.form, document=b.document,
        document_note=b.document_note, anonymous_accepted=b.anonymous_accepted, identity_to_state=b.identity_to_state,
        languages=list(b.languages), languages_note=b.languages_note, channels=list(b.channels),
        takes_mandates=b.takes_mandates) for b in known.bodies.values()],
        mandates=[MandateOut(code=m.code, name=m.name, system=m.system, rule=_rule(m.citation))
                  for m in known.mandates.values()])


async def _view(session: AsyncSession, keyring: KeyRing, *, principal: Principal, complaint_id: str, body: Body,
                now: datetime) -> dict[str, Any]:
    view = (await complaints.read_complaint(session, keyring, principal=principal, complaint_id=complaint_id,
                                            purpose=f"preparing a filing with {body.name}", now=now)
            ).model_dump(mode="json")
    if view.get("erased_at"):
        raise ComplaintErased("the complaint was erased: nothing can be filed from it")
    return view


async def _allowed(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str, body: Body,
                   now: datetime) -> frozenset[str]:
    """The categories of data the victim's consent lets go to the body, for filing (or, for a request
    for precautionary measures, for interim measures)."""
    purpose = Purpose.INTERIM_MEASURES if body.code == "iachr_precautionary" else Purpose.FILE_WITH_MECHANISM
    allowed = set()
    for category in CATEGORIES:
        decision = await consent.allows(session, institution_id=institution_id, complaint_id=complaint_id,
                                        recipient=body.mechanism, recipient_kind="mechanism", purpose=purpose,
                                        category=category, at=now)
        if decision.allowed:
            allowed.add(category.value)
    return frozenset(allowed)


async def _prepare(session: AsyncSession, keyring: KeyRing, *, principal: Principal, complaint_id: str, body: Body,
                   mandates: list[str], annexes: list[dict[str, Any]], now: datetime
                   ) -> tuple[domain.Preparation, dict[str, Any]]:
    view = await _view(session, keyring, principal=principal, complaint_id=complaint_id, body=body, now=now)
    allowed = await _allowed(session, institution_id=principal.institution_id, complaint_id=complaint_id, body=body,
                             now=now)
    known = rules()
    preparation = domain.prepare(body, known.form_of(body), view, allowed=allowed, annexes=annexes,
                                 mandates=[known.mandates[m] for m in mandates])
    return preparation, view


def _record(row: Filing, preparation: domain.Preparation, now: datetime) -> None:
    row.missing = [{"item_id": i.item.id, "item": i.item.item, "label": i.item.label, "state": i.state.value,
                    "level": i.item.level, "detail": i.detail, "provision": i.item.provision, "status": i.item.status}
                   for i in preparation.missing]
    row.blocks = [b.code for b in preparation.blocks]
    row.complete = preparation.complete
    row.confidentiality_requested = preparation.confidentiality is not None
    row.prepared_at = now
    row.rules_version = rules().version


async def _filing(session: AsyncSession, institution_id: InstitutionId, filing_id: str) -> Filing:
    row = await repository.get(session, institution_id, filing_id)
    if row is None:
        raise FilingNotFound("no such filing")
    return row


async def create(session: AsyncSession, platform: Platform, keyring: KeyRing, *, principal: Principal,
                 request: FilingCreate, now: datetime) -> FilingOut:
    body = rules().bodies[request.body.value]
    complaint = await complaints.get_complaint(session, institution_id=principal.institution_id,
                                               complaint_id=request.complaint_id)
    if complaint.status not in OPEN:
        raise ComplaintNotOpen(f"the complaint is {complaint.status}: nothing can be filed from it")
    mandates = list(domain.check_mandates(body, [m.value for m in request.mandates], rules().mandates))
    translation = domain.translation_status(request.language, body, request.translation)
    annexes = [a.model_dump(mode="json") for a in request.annexes]
    preparation, _ = await _prepare(session, keyring, principal=principal, complaint_id=complaint.id, body=body,
                                    mandates=mandates, annexes=annexes, now=now)
    row = Filing(id=str(uuid.uuid4()), institution_id=principal.institution_id, complaint_id=complaint.id,
                 body=body.code, status=domain.Status.PREPARING.value, language=request.language,
                 translation=translation.value, mandates=mandates, annexes=annexes, complete=False,
                 confidentiality_requested=False, prepared_at=now, rules_version="", created_at=now, updated_at=now)
    _record(row, preparation, now)
    await repository.add(session, row)
    await add_event(session, tables, domain.filing_event(
        complaint_id=complaint.id, institution_id=principal.institution_id, filing_id=row.id, body=body,
        action="opened", from_status=None, to_status=row.status, now=now, source=platform.source))
    return to_out(row)


async def get(session: AsyncSession, *, institution_id: InstitutionId, filing_id: str) -> FilingOut:
    return to_out(await _filing(session, institution_id, filing_id))


async def list_for(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str,
                   page: PageRequest) -> Page[FilingOut]:
    await complaints.get_complaint(session, institution_id=institution_id, complaint_id=complaint_id)
    rows = await repository.page_of(session, institution_id, complaint_id, page)
    return repository.NEWEST_FIRST.cut(rows, page, to_out)


async def find(session: AsyncSession, *, institution_id: InstitutionId, filing_id: str) -> tuple[Filing, Body]:
    """The caller's filing and its body (404 otherwise): what proceedings and compliance hang on."""
    row = await _filing(session, institution_id, filing_id)
    return row, rules().bodies[row.body]


async def update(session: AsyncSession, keyring: KeyRing, *, principal: Principal, filing_id: str,
                 request: FilingUpdate, now: datetime) -> FilingOut:
    row = await _filing(session, principal.institution_id, filing_id)
    body = rules().bodies[row.body]
    if row.status not in (domain.Status.PREPARING, domain.Status.READY):
        raise Conflict(f"a filing that is {row.status} is no longer edited", current_status=row.status)
    given = request.model_fields_set
    language = request.language if "language" in given else row.language
    asked = request.translation if "translation" in given else domain.Translation(row.translation)
    if "language" in given and "translation" not in given:
        asked = None
    translation = domain.translation_status(language, body, asked)
    mandates = row.mandates
    if request.mandates is not None:
        mandates = list(domain.check_mandates(body, [m.value for m in request.mandates], rules().mandates))
    annexes = [a.model_dump(mode="json") for a in request.annexes] if request.annexes is not None else row.annexes
    preparation, _ = await _prepare(session, keyring, principal=principal, complaint_id=row.complaint_id, body=body,
                                    mandates=mandates, annexes=annexes, now=now)
    row.language, row.translation, row.mandates, row.annexes = language, translation.value, mandates, annexes
    _record(row, preparation, now)
    # A ready filing that changed is prepared again: it stays ready only if it still may be.
    if row.status == domain.Status.READY and not (preparation.complete and not preparation.blocks):
        row.status = domain.Status.PREPARING.value
    row.updated_at, row.version = now, row.version + 1
    await session.flush()
    return to_out(row)


def preparation_out(row: Filing, preparation: domain.Preparation) -> PreparationOut:
    return PreparationOut(
        filing_id=row.id, body=row.body, form=preparation.form.form, form_version=preparation.form.version,
        document=preparation.body.document, document_note=preparation.body.document_note,
        confidentiality_request=preparation.confidentiality, mandates=list(row.mandates),
        blocks=[BlockOut(code=b.code, reason=b.reason, rule=_rule(b.rule) if b.rule else None)
                for b in preparation.blocks],
        complete=preparation.complete,
        sections=[SectionOut(id=s.id, title=s.title, items=[
            ItemOut(id=i.item.id, item=i.item.item, label=i.item.label, state=i.state, level=i.item.level,
                    lines=list(i.lines), detail=i.detail, rule=_rule(i.item.citation)) for i in s.items])
            for s in preparation.sections])


async def prepared(session: AsyncSession, keyring: KeyRing, *, principal: Principal, filing_id: str,
                   now: datetime) -> tuple[Filing, domain.Preparation, dict[str, Any]]:
    """The filing prepared again from the complaint as it is now (an audited read), its findings kept."""
    row = await _filing(session, principal.institution_id, filing_id)
    body = rules().bodies[row.body]
    preparation, view = await _prepare(session, keyring, principal=principal, complaint_id=row.complaint_id,
                                       body=body, mandates=row.mandates, annexes=row.annexes, now=now)
    _record(row, preparation, now)
    await session.flush()
    return row, preparation, view


async def preparation(session: AsyncSession, keyring: KeyRing, *, principal: Principal, filing_id: str,
                      now: datetime) -> PreparationOut:
    row, found, _ = await prepared(session, keyring, principal=principal, filing_id=filing_id, now=now)
    return preparation_out(row, found)


async def pdf(session: AsyncSession, keyring: KeyRing, *, principal: Principal, filing_id: str,
              now: datetime) -> bytes:
    row, found, view = await prepared(session, keyring, principal=principal, filing_id=filing_id, now=now)
    # Rendering is CPU work (and fpdf's first import is heavy): off the event loop.
    return await asyncio.to_thread(document.render, found, reference=str(view.get("reference")), now=now,
                                   language=row.language, translation=row.translation)


async def change_status(session: AsyncSession, platform: Platform, keyring: KeyRing, *, principal: Principal,
                        filing_id: str, change: FilingStatusChange, now: datetime) -> FilingOut:
    row = await _filing(session, principal.institution_id, filing_id)
    body = rules().bodies[row.body]
    complaint = await complaints.get_complaint(session, institution_id=principal.institution_id,
                                               complaint_id=row.complaint_id)
    if complaint.status not in OPEN:
        raise ComplaintNotOpen(f"the complaint is {complaint.status}: its filings cannot change")
    found = None
    if change.action in domain.NEEDS_PREPARATION:
        found, _ = await _prepare(session, keyring, principal=principal, complaint_id=row.complaint_id, body=body,
                                  mandates=row.mandates, annexes=row.annexes, now=now)
        _record(row, found, now)
    decided = domain.transition(status=row.status, action=change.action, body=body, preparation=found,
                                translation=domain.Translation(row.translation), on=change.on, channel=change.channel,
                                reference=change.reference, current_reference=row.reference,
                                today=case_deadlines.latest_today(now))
    row.status = decided.to_status.value
    row.status_on = change.on or now.date()
    if decided.action is domain.Action.FILE:
        row.filed_on, row.channel = decided.on, decided.channel
    if change.reference is not None:
        row.reference = change.reference
    row.updated_at, row.version = now, row.version + 1
    await session.flush()
    await add_event(session, tables, domain.filing_event(
        complaint_id=row.complaint_id, institution_id=principal.institution_id, filing_id=row.id, body=body,
        action=decided.action.value, from_status=decided.from_status.value, to_status=decided.to_status.value, now=now,
        source=platform.source))
    if decided.action is domain.Action.FILE and decided.on is not None:
        for event in domain.publication_check(body=body, filing_id=row.id, complaint_id=row.complaint_id,
                                              institution_id=principal.institution_id, filed_on=decided.on,
                                              mandates=row.mandates, now=now, source=platform.source):
            await add_event(session, tables, event)
    return to_out(row)


async def proposals(session: AsyncSession, *, institution_id: InstitutionId, complaint_id: str,
                    profiles: list[domain.Profile], systems: list[str]) -> ProposalsOut:
    """The mandates the complaint concerns, from its clear facts (types of acts, rights) and the profiles
    the officer states: nothing identifying is read."""
    complaint = await complaints.get_complaint(session, institution_id=institution_id, complaint_id=complaint_id)
    record = complaints.clear_record(complaint)
    acts = [str(code) for incident in record.get("incidents") or [] for code in incident.get("act_types") or []]
    rights = [(str(r.get("instrument")), str(r.get("article"))) for r in record.get("rights") or []]
    found = domain.propose_mandates(rules().mandates.values(), act_types=acts, rights=rights,
                                    profiles=[p.value for p in profiles], systems=systems or ["un"])
    return ProposalsOut(complaint_id=complaint.id, profiles=profiles, proposals=[
        ProposalOut(mandate=MandateOut(code=p.mandate.code, name=p.mandate.name, system=p.mandate.system,
                                       rule=_rule(p.mandate.citation)), because=list(p.because)) for p in found])
