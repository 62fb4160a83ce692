"""Load, decide, persist, stage events. Never commits: the request's transaction does.

Every function takes the caller's principal (or its institution) and loads through the repository as
that institution sees the request, so a third institution gets 404 before anything is decided.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from comitas_shared.app import Platform
from comitas_shared.auth import InstitutionId, Principal
from comitas_shared.errors import Conflict, InvalidInput, NotFound
from comitas_shared.events.catalogue import (
    DEADLINE_PAUSED,
    DEADLINE_REQUESTED,
    DEADLINE_WITHDRAWN,
    DeadlinePaused,
    DeadlineRequested,
    DeadlineWithdrawn,
)
from comitas_shared.events.envelope import CloudEvent
from comitas_shared.events.outbox import add_event
from comitas_shared.pagination import Page, PageRequest

from ..directory import Directory
from ..legal_bases import service as legal_bases
from ..legal_bases.schemas import BasisRules, LegalBases
from ..models import tables
from ..settings import MlaSettings
from . import completeness, deadlines, domain, repository
from .domain import Action, Role, State
from .models import MlaRequest, RequestDeadline, RequestTransition, StatusRequest, Translation
from .schemas import (
    Clarification,
    CompletenessItemOut,
    CompletenessOut,
    DeadlineOut,
    ExecutionConsultation,
    LanguagesOut,
    Postponement,
    RecognitionExtension,
    Refusal,
    RequestContent,
    RequestCreate,
    RequestOut,
    RequestSummary,
    RequestUpdate,
    StatusRequestOut,
    TransitionOut,
    TranslationIn,
    TranslationOut,
)

OPEN, MET, WITHDRAWN, PAUSED = "open", "met", "withdrawn", "paused"
CONTENT_FIELDS = set(RequestContent.model_fields)


@dataclass(frozen=True)
class Ctx:
    """What every action needs from the app."""

    platform: Platform
    bases: LegalBases
    settings: MlaSettings


# --- reading ------------------------------------------------------------------------------------------------


async def load(session: AsyncSession, viewer: InstitutionId, request_id: str, *, for_update: bool = False) -> MlaRequest:
    row = await repository.get(session, viewer, request_id, for_update=for_update)
    if row is None:
        raise NotFound("no such request", slug="mla-request-not-found", title="MLA request not found")
    return row


def role_of(row: MlaRequest, viewer: str) -> Role:
    return domain.role_of(viewer, requesting_institution_id=row.requesting_institution_id,
                          requested_institution_id=row.requested_institution_id)


def content_of(row: MlaRequest) -> RequestContent:
    return RequestContent.model_validate(row.content)


def rules_of(bases: LegalBases, row: MlaRequest) -> BasisRules:
    return legal_bases.basis(bases, row.basis)


def accepted_languages(bases: LegalBases, rules: BasisRules, state: str) -> tuple[str, ...]:
    declared = rules.language.declared.get(state, ())
    return tuple(dict.fromkeys([*bases.languages_of(state), *declared]))


def languages_out(bases: LegalBases, rules: BasisRules, row: MlaRequest, translations: Sequence[Translation]) -> LanguagesOut:
    accepted = accepted_languages(bases, rules, row.requested_state)
    attached = {t.language for t in translations if t.status == "attached"}
    needed = None if not accepted else not (row.language in accepted or attached & set(accepted))
    return LanguagesOut(request_language=row.language, accepted=list(accepted), rule=rules.language.text,
                        status=rules.language.status, translation_needed=needed,
                        translations=[TranslationOut(language=t.language, status=t.status, note=t.note,
                                                     updated_at=t.updated_at) for t in translations])


def deadline_out(row: RequestDeadline) -> DeadlineOut:
    return DeadlineOut(limit_id=row.limit_id, deadline_key=row.deadline_key, title=row.title, kind=row.kind,
                       last_day=row.last_day, time_zone=row.time_zone, due_at=row.due_at, calendar=row.calendar,
                       hard=row.hard, state=row.state, rule=row.rule, explanation=list(row.explanation))


async def to_out(session: AsyncSession, bases: LegalBases, row: MlaRequest, viewer: InstitutionId, *,
                 translations: Sequence[Translation] | None = None) -> RequestOut:
    """``translations``: the request's translations when the caller has just read them."""
    rules = rules_of(bases, row)
    if translations is None:
        translations = await repository.translations(session, viewer, row.id)
    return RequestOut(
        id=row.id, reference=row.reference, state=row.state,  # type: ignore[arg-type]
        role=role_of(row, viewer).value,
        requesting_institution_id=row.requesting_institution_id, requested_institution_id=row.requested_institution_id,
        requesting_state=row.requesting_state, requested_state=row.requested_state,
        requesting_authority=row.requesting_name, requested_authority=row.requested_name, basis=row.basis,
        rules_version=row.rules_version, confidential=row.confidential, content=content_of(row), outcome=row.outcome,
        postponed_until=row.postponed_until,
        deadlines=[deadline_out(d) for d in await repository.deadlines(session, viewer, row.id)],
        status_requests=[StatusRequestOut(id=s.id, message=s.message, asked_at=s.asked_at, answer=s.answer,
                                          answered_at=s.answered_at, answered_by=s.answered_by)
                         for s in await repository.status_requests(session, viewer, row.id)],
        languages=languages_out(bases, rules, row, translations),
        issued_at=row.issued_at, closed_at=row.closed_at, created_at=row.created_at, updated_at=row.updated_at,
        version=row.version,
    )


def summary_of(row: MlaRequest, viewer: InstitutionId) -> RequestSummary:
    return RequestSummary(id=row.id, reference=row.reference, state=row.state,  # type: ignore[arg-type]
                          role=role_of(row, viewer).value,
                          requesting_institution_id=row.requesting_institution_id,
                          requested_institution_id=row.requested_institution_id,
                          requesting_state=row.requesting_state, requested_state=row.requested_state,
                          basis=row.basis, confidential=row.confidential, assistance_types=list(row.assistance_types),
                          created_at=row.created_at, updated_at=row.updated_at)


async def get_request(session: AsyncSession, bases: LegalBases, *, viewer: InstitutionId, request_id: str) -> RequestOut:
    return await to_out(session, bases, await load(session, viewer, request_id), viewer)


async def list_requests(session: AsyncSession, *, viewer: InstitutionId, page: PageRequest, role: str | None,
                        state: str | None) -> Page[RequestSummary]:
    rows = await repository.page(session, viewer, page, role=role, state=state)
    return repository.NEWEST_FIRST.cut(rows, page, lambda row: summary_of(row, viewer))


async def list_transitions(session: AsyncSession, *, viewer: InstitutionId, request_id: str,
                           page: PageRequest) -> Page[TransitionOut]:
    await load(session, viewer, request_id)
    rows = await repository.transitions(session, viewer, request_id, page)
    return repository.OLDEST_FIRST.cut(rows, page, lambda t: TransitionOut(
        id=t.id, action=t.action, from_state=t.from_state, to_state=t.to_state, actor_role=t.actor_role,
        details=t.details, at=t.at))


# --- completeness and the document ---------------------------------------------------------------------------


def check_completeness(bases: LegalBases, row: MlaRequest,
                       translations: Sequence[Translation]) -> completeness.Completeness:
    rules = rules_of(bases, row)
    content = content_of(row)
    suitability = legal_bases.suitability(bases, code=row.basis, requesting=row.requesting_state,
                                          requested=row.requested_state,
                                          assistance=[item.type for item in content.assistance])
    context = completeness.Context(content=content, confidential=row.confidential,
                                   accepted_languages=accepted_languages(bases, rules, row.requested_state),
                                   attached_translations=tuple(t.language for t in translations if t.status == "attached"))
    return completeness.check(rules, context, suitability.problems)


def completeness_out(row: MlaRequest, result: completeness.Completeness, bases: LegalBases) -> CompletenessOut:
    def out(item: completeness.ItemResult) -> CompletenessItemOut:
        return CompletenessItemOut.model_validate(item.as_dict())

    return CompletenessOut(request_id=row.id, basis=row.basis, rules_version=bases.version, complete=result.complete,
                           missing=[out(i) for i in result.missing], recommended=[out(i) for i in result.recommended],
                           basis_problems=list(result.basis_problems), items=[out(i) for i in result.items])


async def get_completeness(session: AsyncSession, bases: LegalBases, *, viewer: InstitutionId,
                           request_id: str) -> CompletenessOut:
    row = await load(session, viewer, request_id)
    translations = await repository.translations(session, viewer, row.id)
    return completeness_out(row, check_completeness(bases, row, translations), bases)


async def document_inputs(session: AsyncSession, bases: LegalBases, *, viewer: InstitutionId,
                          request_id: str) -> tuple[MlaRequest, BasisRules, RequestContent, completeness.Completeness,
                                                    list[Translation]]:
    """What the request document is made from (requests/document.py renders it)."""
    row = await load(session, viewer, request_id)
    translations = await repository.translations(session, viewer, row.id)
    return row, rules_of(bases, row), content_of(row), check_completeness(bases, row, translations), translations


# --- drafting ---------------------------------------------------------------------------------------------------


async def create_request(session: AsyncSession, ctx: Ctx, *, directory: Directory, principal: Principal, token: str,
                         payload: RequestCreate, idempotency_key: str | None, now: datetime) -> tuple[int, dict[str, Any]]:
    """Returns the HTTP status and body, so a retry with the same Idempotency-Key gets both again."""
    async with ctx.platform.idempotency.guard(
        session, institution_id=principal.institution_id, operation="mla.requests.create", key=idempotency_key,
        body=payload.model_dump(mode="json"),
    ) as call:
        if call.is_replay:
            return call.replay_status or 201, call.replay_body
        requesting = await directory.authority(principal.institution_id, token=token)
        requested = await directory.authority(payload.requested_institution_id, token=token)
        if requesting is None or not requesting.is_central_authority:
            raise InvalidInput("only a central authority in the institutions directory may draft a request",
                               slug="not-a-central-authority", title="Not a central authority")
        if requested is None or not requested.is_central_authority:
            raise InvalidInput(f"{payload.requested_institution_id} is not an active central authority in the "
                               "institutions directory", slug="requested-not-a-central-authority",
                               title="Requested authority is not a central authority")
        if requesting.country == requested.country:
            raise InvalidInput(f"both authorities are of {requested.country}: mutual legal assistance is between "
                               "two states", slug="same-state", title="Same state twice")
        content = RequestContent.model_validate(payload.model_dump(include=CONTENT_FIELDS))
        _check_basis(ctx.bases, payload.basis, requesting.country, requested.country, content)
        row = MlaRequest(
            id=str(uuid.uuid4()), reference=domain.new_reference(now),
            requesting_institution_id=requesting.id, requested_institution_id=requested.id,
            requesting_state=requesting.country, requested_state=requested.country,
            requesting_name=requesting.name[:200], requested_name=requested.name[:200],
            requested_calendar=requested.calendar(), basis=payload.basis,
            rules_version=ctx.bases.version, state=State.DRAFT.value, confidential=payload.confidential,
            language=content.language, assistance_types=_types(content), content=content.model_dump(mode="json"),
            created_at=now, updated_at=now, version=1,
        )
        await repository.add(session, row)
        body = (await to_out(session, ctx.bases, row, principal.institution_id)).model_dump(mode="json")
        ctx.platform.idempotency.remember(call, 201, body)
        return 201, body


def _types(content: RequestContent) -> list[str]:
    return list(dict.fromkeys(item.type.value for item in content.assistance))


def _check_basis(bases: LegalBases, code: str, requesting: str, requested: str, content: RequestContent) -> None:
    """A basis that cannot bind the two states is refused at once; one that does not cover an item is
    reported by the completeness check (the draft may still change)."""
    found = legal_bases.suitability(bases, code=code, requesting=requesting, requested=requested,
                                    assistance=[item.type for item in content.assistance])
    if not found.bound:
        raise InvalidInput(f"{code}: " + "; ".join(found.problems), slug="basis-not-available",
                           title="Legal basis not available between these states",
                           hint=f"GET /v1/legal-bases?requesting={requesting}&requested={requested}")


async def update_draft(session: AsyncSession, ctx: Ctx, *, principal: Principal, request_id: str,
                       changes: RequestUpdate, now: datetime) -> RequestOut:
    row = await load(session, principal.institution_id, request_id, for_update=True)
    domain.decide(State(row.state), role_of(row, principal.institution_id), Action.EDIT)
    _apply_changes(ctx.bases, row, changes)
    row.rules_version = ctx.bases.version
    _touch(row, now)
    await session.flush()
    return await to_out(session, ctx.bases, row, principal.institution_id)


def _apply_changes(bases: LegalBases, row: MlaRequest, changes: RequestUpdate) -> None:
    sent = changes.model_dump(mode="json", exclude_unset=True)
    for name in ("basis", "confidential"):
        if name in sent and sent[name] is None:
            raise InvalidInput(f"{name} cannot be cleared", slug="validation-error", pointer=f"/{name}")
    merged = {**row.content, **{k: v for k, v in sent.items() if k in CONTENT_FIELDS}}
    content = RequestContent.model_validate({k: v for k, v in merged.items() if v is not None})
    basis = sent.get("basis", row.basis)
    _check_basis(bases, basis, row.requesting_state, row.requested_state, content)
    row.basis = basis
    row.confidential = sent.get("confidential", row.confidential)
    row.content = content.model_dump(mode="json")
    row.language = content.language
    row.assistance_types = _types(content)


def _touch(row: MlaRequest, now: datetime) -> None:
    row.updated_at = now
    row.version += 1


async def set_translation(session: AsyncSession, ctx: Ctx, *, principal: Principal, request_id: str,
                          payload: TranslationIn, now: datetime) -> RequestOut:
    row = await load(session, principal.institution_id, request_id, for_update=True)
    domain.decide(State(row.state), role_of(row, principal.institution_id), Action.TRANSLATE)
    translations = await repository.translations(session, principal.institution_id, row.id)
    existing = next((t for t in translations if t.language == payload.language), None)
    if existing is None:
        added = Translation(
            id=str(uuid.uuid4()), request_id=row.id, requesting_institution_id=row.requesting_institution_id,
            requested_institution_id=row.requested_institution_id, language=payload.language, status=payload.status,
            note=payload.note, updated_at=now)
        await repository.add(session, added)
        # In the repository's order (by language: two lower-case letters, the same in every collation).
        translations = sorted([*translations, added], key=lambda t: t.language)
    else:
        existing.status, existing.note, existing.updated_at = payload.status, payload.note, now
    _touch(row, now)
    await session.flush()
    return await to_out(session, ctx.bases, row, principal.institution_id, translations=translations)


# --- the lifecycle ----------------------------------------------------------------------------------------------


def _view(row: MlaRequest) -> domain.RequestView:
    return domain.RequestView(
        id=row.id, reference=row.reference, state=State(row.state), basis=row.basis,
        requesting_institution_id=row.requesting_institution_id, requested_institution_id=row.requested_institution_id,
        requesting_state=row.requesting_state, requested_state=row.requested_state, confidential=row.confidential,
        assistance=tuple(row.assistance_types))


def _place(bases: LegalBases, row: MlaRequest) -> deadlines.Place:
    """The requested state's calendar, in the zone its central authority counts in: the directory's word
    where it gave one, else the legal-basis data's (states.toml, IANA's zone table)."""
    directory = row.requested_calendar or {}
    zone, note = (directory["time_zone"], None) if directory.get("time_zone") else \
        bases.time_zone_of(row.requested_state)
    return deadlines.Place(state=row.requested_state, time_zone=zone, zone_note=note,
                           subdivision=directory.get("subdivision"),
                           closures=tuple(directory.get("closures") or ()))


def _today(place: deadlines.Place, now: datetime) -> date:
    return now.astimezone(ZoneInfo(place.time_zone)).date()


async def _record(session: AsyncSession, ctx: Ctx, row: MlaRequest, *, principal: Principal, action: Action,
                  before: State, now: datetime, details: dict[str, Any] | None = None,
                  event_extra: dict[str, Any] | None = None) -> CloudEvent | None:
    """The transition's history row and its event, in the request's transaction."""
    event = domain.event_for(action, _view(row), now=now, source=ctx.platform.source, extra=event_extra)
    if event is not None:
        event = await add_event(session, tables, event)
    await repository.add(session, RequestTransition(
        id=str(uuid.uuid4()), request_id=row.id, requesting_institution_id=row.requesting_institution_id,
        requested_institution_id=row.requested_institution_id, action=action.value, from_state=before.value,
        to_state=row.state, actor_institution_id=principal.institution_id,
        actor_role=role_of(row, principal.institution_id).value, details=details or {},
        event_id=event.id if event else None, at=now))
    return event


async def _begin(session: AsyncSession, principal: Principal, request_id: str, action: Action) -> tuple[MlaRequest, State, State]:
    row = await load(session, principal.institution_id, request_id, for_update=True)
    before = State(row.state)
    after = domain.decide(before, role_of(row, principal.institution_id), action,
                          postponed_from=State(row.postponed_from) if row.postponed_from else None)
    return row, before, after


async def issue(session: AsyncSession, ctx: Ctx, *, principal: Principal, request_id: str, now: datetime) -> RequestOut:
    row, before, after = await _begin(session, principal, request_id, Action.ISSUE)
    translations = await repository.translations(session, principal.institution_id, row.id)
    result = check_completeness(ctx.bases, row, translations)
    domain.check_issuable(result.complete, [{"item": i.rule.item.value, "label": i.rule.label,
                                             "provision": i.rule.provision} for i in result.missing],
                          result.basis_problems)
    content = content_of(row)
    row.state, row.issued_at, row.rules_version = after.value, now, ctx.bases.version
    _touch(row, now)
    place = _place(ctx.bases, row)
    planned = deadlines.plan(rules_of(ctx.bases, row), start="receipt", on=_today(place, now), place=place,
                             requested_date=content.urgency.requested_date,
                             follow_up_days=ctx.settings.follow_up_days)
    await _open_deadlines(session, ctx, row, planned, now)
    await _record(session, ctx, row, principal=principal, action=Action.ISSUE, before=before, now=now,
                  details={"rules_version": ctx.bases.version}, event_extra={"received_at": now})
    await session.flush()
    return await to_out(session, ctx.bases, row, principal.institution_id, translations=translations)


async def acknowledge(session: AsyncSession, ctx: Ctx, *, principal: Principal, request_id: str, note: str | None,
                      now: datetime) -> RequestOut:
    return await _simple(session, ctx, principal=principal, request_id=request_id, action=Action.ACKNOWLEDGE,
                         now=now, details={"note": note} if note else {})


async def request_clarification(session: AsyncSession, ctx: Ctx, *, principal: Principal, request_id: str,
                                questions: str, now: datetime) -> RequestOut:
    return await _simple(session, ctx, principal=principal, request_id=request_id,
                         action=Action.REQUEST_CLARIFICATION, now=now, details={"questions": questions})


async def clarify(session: AsyncSession, ctx: Ctx, *, principal: Principal, request_id: str, payload: Clarification,
                  now: datetime) -> RequestOut:
    row, before, after = await _begin(session, principal, request_id, Action.CLARIFY)
    details: dict[str, Any] = {"answer": payload.answer}
    if payload.changes is not None:
        _apply_changes(ctx.bases, row, payload.changes)
        details["changed"] = sorted(payload.changes.model_dump(exclude_unset=True))
    row.state = after.value
    _touch(row, now)
    await _record(session, ctx, row, principal=principal, action=Action.CLARIFY, before=before, now=now,
                  details=details)
    await session.flush()
    return await to_out(session, ctx.bases, row, principal.institution_id)


async def recognise(session: AsyncSession, ctx: Ctx, *, principal: Principal, request_id: str, note: str | None,
                    now: datetime) -> RequestOut:
    row, before, after = await _begin(session, principal, request_id, Action.RECOGNISE)
    row.state = after.value
    _touch(row, now)
    await _meet(session, ctx, principal, row, Action.RECOGNISE, now)
    place = _place(ctx.bases, row)
    planned = deadlines.plan(rules_of(ctx.bases, row), start="recognition", on=_today(place, now), place=place,
                             requested_date=content_of(row).urgency.requested_date,
                             follow_up_days=ctx.settings.follow_up_days)
    await _open_deadlines(session, ctx, row, planned, now)
    await _record(session, ctx, row, principal=principal, action=Action.RECOGNISE, before=before, now=now,
                  details={"note": note} if note else {})
    await session.flush()
    return await to_out(session, ctx.bases, row, principal.institution_id)


async def return_result(session: AsyncSession, ctx: Ctx, *, principal: Principal, request_id: str, result_id: str,
                        partial: bool, sha256: str, now: datetime) -> MlaRequest:
    """The state change and event of a result returned; the results feature stores the file."""
    row, before, after = await _begin(session, principal, request_id, Action.RETURN_RESULT)
    row.state = after.value
    _touch(row, now)
    await _meet(session, ctx, principal, row, Action.RETURN_RESULT, now)
    await _record(session, ctx, row, principal=principal, action=Action.RETURN_RESULT, before=before, now=now,
                  details={"result_id": result_id, "partial": partial, "sha256": sha256},
                  event_extra={"result_id": result_id, "partial": partial, "sha256": sha256})
    await session.flush()
    return row


async def result_allowed(session: AsyncSession, *, principal: Principal, request_id: str) -> MlaRequest:
    """Whether the caller may return a result now (checked before the file is received)."""
    row = await load(session, principal.institution_id, request_id)
    domain.decide(State(row.state), role_of(row, principal.institution_id), Action.RETURN_RESULT)
    return row


async def execute(session: AsyncSession, ctx: Ctx, *, principal: Principal, request_id: str, note: str | None,
                  now: datetime) -> RequestOut:
    row, before, after = await _begin(session, principal, request_id, Action.EXECUTE)
    row.state, row.closed_at = after.value, now
    row.outcome = {**row.outcome, "executed": {"at": now.isoformat(), "note": note}}
    _touch(row, now)
    await _close_all(session, ctx, principal, row, Action.EXECUTE, now, reason="met")
    await _record(session, ctx, row, principal=principal, action=Action.EXECUTE, before=before, now=now,
                  details={"note": note} if note else {})
    await session.flush()
    return await to_out(session, ctx.bases, row, principal.institution_id)


async def refuse(session: AsyncSession, ctx: Ctx, *, principal: Principal, request_id: str, payload: Refusal,
                 now: datetime) -> RequestOut:
    row, before, after = await _begin(session, principal, request_id, Action.REFUSE)
    cited = domain.check_refusal(rules_of(ctx.bases, row), [(g.code, g.text) for g in payload.grounds])
    row.state, row.closed_at = after.value, now
    row.outcome = {**row.outcome, "refused": {"at": now.isoformat(), "grounds": cited}}
    _touch(row, now)
    await _close_all(session, ctx, principal, row, Action.REFUSE, now, reason="met")
    await _record(session, ctx, row, principal=principal, action=Action.REFUSE, before=before, now=now,
                  details={"grounds": cited}, event_extra={"grounds": [g["code"] for g in cited]})
    await session.flush()
    return await to_out(session, ctx.bases, row, principal.institution_id)


async def postpone(session: AsyncSession, ctx: Ctx, *, principal: Principal, request_id: str, payload: Postponement,
                   now: datetime) -> RequestOut:
    row, before, after = await _begin(session, principal, request_id, Action.POSTPONE)
    place = _place(ctx.bases, row)
    today = _today(place, now)
    domain.check_postponement(payload.until, today)
    row.state, row.postponed_from, row.postponed_on, row.postponed_until = after.value, before.value, today, payload.until
    _touch(row, now)
    # A postponement stops the basis's clocks (EIO Art 12(4): "unless postponed under Art 15"): each open
    # limit is paused, and its timers withdrawn until the request is taken up again.
    for deadline in await _deadlines(session, principal.institution_id, row, states={OPEN}):
        if deadline.counting:
            deadline.counting = deadlines.paused(deadlines.Counting.from_dict(deadline.counting), today).as_dict()
        await _set_state(session, ctx, row, deadline, PAUSED, now, paused_on=today)
    await _open_deadlines(session, ctx, row, [deadlines.Planned(
        limit_id="postponement", title="Postponement ends", kind="postponement", last_day=payload.until,
        time_zone=place.time_zone, calendar=f"the date the requested authority gave; {place.time_zone}", hard=False,
        rule={"basis": row.basis, "provision": "the postponement (EIO Directive Art 15)", "status": "partial"},
        explanation=(f"Postponed until {payload.until.isoformat()}.",))], now)
    await _record(session, ctx, row, principal=principal, action=Action.POSTPONE, before=before, now=now,
                  details={"reason": payload.reason, "until": payload.until.isoformat()},
                  event_extra={"until": payload.until})
    await session.flush()
    return await to_out(session, ctx.bases, row, principal.institution_id)


async def resume(session: AsyncSession, ctx: Ctx, *, principal: Principal, request_id: str, now: datetime) -> RequestOut:
    row, before, after = await _begin(session, principal, request_id, Action.RESUME)
    place = _place(ctx.bases, row)
    today = _today(place, now)
    rules = rules_of(ctx.bases, row)
    row.state, row.postponed_from, row.postponed_on, row.postponed_until = after.value, None, None, None
    _touch(row, now)
    for deadline in await _deadlines(session, principal.institution_id, row, states={OPEN, PAUSED}):
        if deadline.limit_id == "postponement":
            await _set_state(session, ctx, row, deadline, MET, now, reason="met")
        elif deadline.state == PAUSED:
            limit = rules.time_limit(deadline.limit_id)
            if deadline.counting and limit is not None:
                counting = deadlines.resumed(deadlines.Counting.from_dict(deadline.counting), today)
                _replan(deadline, deadlines.count(limit, rules, counting, place), now)
            await _set_state(session, ctx, row, deadline, OPEN, now)
    await _record(session, ctx, row, principal=principal, action=Action.RESUME, before=before, now=now)
    await session.flush()
    return await to_out(session, ctx.bases, row, principal.institution_id)


async def withdraw(session: AsyncSession, ctx: Ctx, *, principal: Principal, request_id: str, reason: str,
                   now: datetime) -> RequestOut:
    row, before, after = await _begin(session, principal, request_id, Action.WITHDRAW)
    row.state, row.closed_at = after.value, now
    row.outcome = {**row.outcome, "withdrawn": {"at": now.isoformat(), "reason": reason}}
    _touch(row, now)
    await _close_all(session, ctx, principal, row, Action.WITHDRAW, now, reason="withdrawn")
    await _record(session, ctx, row, principal=principal, action=Action.WITHDRAW, before=before, now=now,
                  details={"reason": reason})
    await session.flush()
    return await to_out(session, ctx.bases, row, principal.institution_id)


async def extend_recognition(session: AsyncSession, ctx: Ctx, *, principal: Principal, request_id: str,
                             payload: RecognitionExtension, now: datetime) -> RequestOut:
    row, before, _ = await _begin(session, principal, request_id, Action.EXTEND_RECOGNITION)
    rules = rules_of(ctx.bases, row)
    domain.check_extension_allowed(rules)
    limit = rules.time_limit("recognition")
    assert limit is not None
    deadline = next(iter(await _deadlines(session, principal.institution_id, row, states={OPEN}, limit_id="recognition")), None)
    if deadline is None or not deadline.counting:
        raise Conflict("the recognition time limit is not running", slug="no-recognition-deadline")
    planned = deadlines.extended(limit, rules, deadlines.Counting.from_dict(deadline.counting), payload.days,
                                 payload.reason, _place(ctx.bases, row))
    previous = deadline.last_day
    _replan(deadline, planned, now)
    _touch(row, now)
    await _announce(session, ctx, row, deadline, now)
    await _record(session, ctx, row, principal=principal, action=Action.EXTEND_RECOGNITION, before=before, now=now,
                  details={"days": payload.days, "reason": payload.reason, "from": previous.isoformat(),
                           "to": deadline.last_day.isoformat(), "provision": limit.extension.provision
                           if limit.extension else ""},
                  event_extra={"last_day": deadline.last_day, "extension_days": payload.days})
    await session.flush()
    return await to_out(session, ctx.bases, row, principal.institution_id)


async def consult_on_execution(session: AsyncSession, ctx: Ctx, *, principal: Principal, request_id: str,
                               payload: ExecutionConsultation, now: datetime) -> RequestOut:
    row, before, _ = await _begin(session, principal, request_id, Action.CONSULT_ON_EXECUTION)
    rules = rules_of(ctx.bases, row)
    domain.check_consultation_allowed(rules)
    limit = rules.time_limit("execution")
    assert limit is not None and limit.impracticable is not None
    place = _place(ctx.bases, row)
    if payload.estimated_date <= _today(place, now):
        raise InvalidInput("the estimate is a day after today", slug="estimate-in-the-past")
    consultation = {"at": now.isoformat(), "reason": payload.reason,
                    "estimated_date": payload.estimated_date.isoformat(), "provision": limit.impracticable.provision}
    row.outcome = {**row.outcome, "consultations": [*row.outcome.get("consultations", []), consultation]}
    _touch(row, now)
    existing = next(iter(await _deadlines(session, principal.institution_id, row, states={OPEN}, limit_id="execution_estimate")), None)
    planned = deadlines.Planned(
        limit_id="execution_estimate", title="Execution estimated after consultation", kind="estimate",
        last_day=payload.estimated_date, time_zone=place.time_zone,
        calendar=f"the requested authority's estimate; {place.time_zone}", hard=False,
        rule={"basis": row.basis, "provision": limit.impracticable.provision, "source": limit.impracticable.source,
              "status": limit.impracticable.status.value},
        explanation=(f"The requested authority cannot meet the execution time limit and consulted on the timing "
                     f"({limit.impracticable.provision}); it estimates {payload.estimated_date.isoformat()}.",))
    if existing is None:
        await _open_deadlines(session, ctx, row, [planned], now)
    else:
        _replan(existing, planned, now)
        await _announce(session, ctx, row, existing, now)
    await _record(session, ctx, row, principal=principal, action=Action.CONSULT_ON_EXECUTION, before=before, now=now,
                  details=consultation, event_extra={"estimated_date": payload.estimated_date})
    await session.flush()
    return await to_out(session, ctx.bases, row, principal.institution_id)


async def request_status(session: AsyncSession, ctx: Ctx, *, principal: Principal, request_id: str,
                         message: str | None, now: datetime) -> StatusRequestOut:
    row, before, _ = await _begin(session, principal, request_id, Action.REQUEST_STATUS)
    asked = StatusRequest(id=str(uuid.uuid4()), request_id=row.id, requesting_institution_id=row.requesting_institution_id,
                          requested_institution_id=row.requested_institution_id, message=message, asked_at=now)
    await repository.add(session, asked)
    _touch(row, now)
    await _record(session, ctx, row, principal=principal, action=Action.REQUEST_STATUS, before=before, now=now,
                  details={"status_request_id": asked.id}, event_extra={"status_request_id": asked.id})
    await session.flush()
    return _status_out(asked)


async def answer_status(session: AsyncSession, ctx: Ctx, *, principal: Principal, request_id: str,
                        status_request_id: str, answer: str, now: datetime) -> StatusRequestOut:
    row, before, _ = await _begin(session, principal, request_id, Action.ANSWER_STATUS)
    asked = await repository.status_request(session, principal.institution_id, row.id, status_request_id)
    if asked is None:
        raise NotFound("no such status request", slug="status-request-not-found")
    if asked.answered_at is not None:
        raise Conflict("this status request was answered already", slug="status-request-answered")
    asked.answer, asked.answered_at, asked.answered_by = answer, now, Action.ANSWER_STATUS.value
    _touch(row, now)
    await _record(session, ctx, row, principal=principal, action=Action.ANSWER_STATUS, before=before, now=now,
                  details={"status_request_id": asked.id}, event_extra={"status_request_id": asked.id})
    await session.flush()
    return _status_out(asked)


def _status_out(row: StatusRequest) -> StatusRequestOut:
    return StatusRequestOut(id=row.id, message=row.message, asked_at=row.asked_at, answer=row.answer,
                            answered_at=row.answered_at, answered_by=row.answered_by)


async def _simple(session: AsyncSession, ctx: Ctx, *, principal: Principal, request_id: str, action: Action,
                  now: datetime, details: dict[str, Any]) -> RequestOut:
    row, before, after = await _begin(session, principal, request_id, action)
    row.state = after.value
    _touch(row, now)
    await _meet(session, ctx, principal, row, action, now)
    await _record(session, ctx, row, principal=principal, action=action, before=before, now=now, details=details)
    await session.flush()
    return await to_out(session, ctx.bases, row, principal.institution_id)


# --- deadlines: rows and their events --------------------------------------------------------------------------


def deadline_key(row: MlaRequest, limit_id: str) -> str:
    return f"mla:{row.id}:{limit_id}"


async def _deadlines(session: AsyncSession, viewer: InstitutionId, row: MlaRequest, *, states: set[str],
                     limit_id: str | None = None) -> list[RequestDeadline]:
    found = await repository.deadlines(session, viewer, row.id)
    return [d for d in found if d.state in states and (limit_id is None or d.limit_id == limit_id)]


def _replan(deadline: RequestDeadline, planned: deadlines.Planned, now: datetime) -> None:
    if planned.last_day is None:
        raise Conflict("the time limit is paused and has no last day", slug="deadline-paused")
    deadline.title, deadline.kind, deadline.last_day = planned.title, planned.kind, planned.last_day
    deadline.time_zone, deadline.due_at, deadline.calendar = planned.time_zone, planned.due_at_utc, planned.calendar
    deadline.hard, deadline.rule, deadline.explanation = planned.hard, planned.rule, list(planned.explanation)
    deadline.counting = planned.counting.as_dict() if planned.counting else {}
    deadline.updated_at = now


async def _open_deadlines(session: AsyncSession, ctx: Ctx, row: MlaRequest, planned: Sequence[deadlines.Planned],
                          now: datetime) -> None:
    for plan in planned:
        if plan.last_day is None:
            continue
        deadline = RequestDeadline(
            id=str(uuid.uuid4()), request_id=row.id, requesting_institution_id=row.requesting_institution_id,
            requested_institution_id=row.requested_institution_id, limit_id=plan.limit_id,
            deadline_key=deadline_key(row, plan.limit_id), title=plan.title, kind=plan.kind, last_day=plan.last_day,
            time_zone=plan.time_zone, due_at=plan.due_at_utc, calendar=plan.calendar, hard=plan.hard, state=OPEN,
            rule=plan.rule, counting=plan.counting.as_dict() if plan.counting else {},
            explanation=list(plan.explanation), created_at=now, updated_at=now)
        await repository.add(session, deadline)
        await _announce(session, ctx, row, deadline, now)


async def _meet(session: AsyncSession, ctx: Ctx, principal: Principal, row: MlaRequest, action: Action,
                now: datetime) -> None:
    """Close each open time limit that ``action`` answers (the basis's ``met_by``)."""
    rules = rules_of(ctx.bases, row)
    for deadline in await _deadlines(session, principal.institution_id, row, states={OPEN}):
        limit = rules.time_limit(deadline.limit_id)
        if limit is not None and action.value in limit.met_by:
            await _set_state(session, ctx, row, deadline, MET, now, reason="met")


async def _close_all(session: AsyncSession, ctx: Ctx, principal: Principal, row: MlaRequest, action: Action,
                     now: datetime, *, reason: str) -> None:
    """A request that ends closes every time limit still watched, and answers its open status requests."""
    rules = rules_of(ctx.bases, row)
    for deadline in await _deadlines(session, principal.institution_id, row, states={OPEN, PAUSED}):
        limit = rules.time_limit(deadline.limit_id)
        met = reason == "met" and (limit is None or action.value in limit.met_by)
        await _set_state(session, ctx, row, deadline, MET if met else WITHDRAWN, now,
                         reason="met" if met else "withdrawn")
    for asked in await repository.status_requests(session, principal.institution_id, row.id):
        if asked.answered_at is None:
            asked.answered_at, asked.answered_by = now, action.value


async def _set_state(session: AsyncSession, ctx: Ctx, row: MlaRequest, deadline: RequestDeadline, state: str,
                     now: datetime, *, reason: str = "met", paused_on: date | None = None) -> None:
    was = deadline.state
    deadline.state, deadline.updated_at = state, now
    if state == OPEN:
        await _announce(session, ctx, row, deadline, now)
    elif state == PAUSED and paused_on is not None:
        # The clock stops; notifications keeps the deadline, quiet, until it is announced again on resume.
        for institution in (row.requesting_institution_id, row.requested_institution_id):
            await add_event(session, tables, DEADLINE_PAUSED.build(
                source=ctx.platform.source, subject=row.id, institution_id=institution, time=now,
                data=DeadlinePaused(deadline_key=deadline.deadline_key, institution_id=institution,
                                    paused_on=paused_on, reason="the request is postponed")))
    elif was in (OPEN, PAUSED):
        for institution in (row.requesting_institution_id, row.requested_institution_id):
            await add_event(session, tables, DEADLINE_WITHDRAWN.build(
                source=ctx.platform.source, subject=row.id, institution_id=institution, time=now,
                data=DeadlineWithdrawn(deadline_key=deadline.deadline_key, institution_id=institution,
                                       reason=reason)))  # type: ignore[arg-type]


async def _announce(session: AsyncSession, ctx: Ctx, row: MlaRequest, deadline: RequestDeadline, now: datetime) -> None:
    """``comitas.deadline.requested`` to each authority: the requested one must act, the requesting one
    follows up. ``case_ref`` is the request's id (what its page is found by, as for every case kind); a
    confidential request's deadline names neither its basis nor its reference."""
    if row.confidential:
        title, case_ref, mechanism, rule = f"MLA request time limit ({row.id[:8]})", row.id, None, {}
        calendar = f"counted in {deadline.time_zone}"
    else:
        title = f"{deadline.title}: {row.reference} ({row.requesting_state} to {row.requested_state})"
        case_ref, mechanism, rule, calendar = row.id, row.basis, deadline.rule, deadline.calendar
    for institution in (row.requesting_institution_id, row.requested_institution_id):
        await add_event(session, tables, DEADLINE_REQUESTED.build(
            source=ctx.platform.source, subject=row.id, institution_id=institution, time=now,
            data=DeadlineRequested(
                deadline_key=deadline.deadline_key, institution_id=institution, kind=f"mla_{deadline.limit_id}"[:64],
                title=title[:500], case_ref=case_ref, case_kind="mla_request", mechanism=mechanism,
                last_day=deadline.last_day, time_zone=deadline.time_zone, due_at=deadline.due_at,
                calendar=calendar[:500], hard=deadline.hard, rule=rule,
                holidays_version=deadline.counting.get("holidays_version"))))
