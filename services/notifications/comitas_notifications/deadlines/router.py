from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from comitas_shared.app import Now
from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.errors import NotFound
from comitas_shared.openapi import IsoDate
from comitas_shared.pagination import Page, PageQuery

from ..deps import ReminderPolicyDep
from . import service
from .domain import StateFilter
from .schemas import DeadlineOut, ReminderSettingIn, ReminderSettingOut

router = APIRouter(prefix="/v1/deadlines", tags=["deadlines"])
settings_router = APIRouter(prefix="/v1/reminder-settings", tags=["deadlines"])

Reader = Scoped("deadlines:read")
Manager = Scoped("subscriptions:manage")
Kind = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$",
                           description="a kind of deadline (filing_limit, acknowledgement, …)")]


@router.get("", response_model=Page[DeadlineOut], summary="The deadlines the caller's institution must act on, "
                                                          "soonest first")
async def list_deadlines(
    principal: Reader, session: Session, page: PageQuery, now: Now,
    state: Annotated[StateFilter | None, Query(description="upcoming, due (its last day is today), overdue, "
                                                           "paused, met, withdrawn, or open (any not closed)")] = None,
    case_ref: Annotated[str | None, Query(max_length=200)] = None,
    kind: Annotated[str | None, Query(max_length=64)] = None,
    last_day_from: Annotated[IsoDate | None, Query(description="last day on or after (inclusive)")] = None,
    last_day_to: Annotated[IsoDate | None, Query(description="last day on or before (inclusive)")] = None,
) -> Page[DeadlineOut]:
    return await service.list_page(session, institution_id=principal.institution_id, page=page, now=now,
                                   state=state, case_ref=case_ref, kind=kind, last_day_from=last_day_from,
                                   last_day_to=last_day_to)


@router.get("/{deadline_id}", response_model=DeadlineOut, summary="One deadline, with how it was counted")
async def get_deadline(deadline_id: str, principal: Reader, session: Session, now: Now) -> DeadlineOut:
    found = await service.get(session, institution_id=principal.institution_id, deadline_id=deadline_id, now=now)
    if found is None:
        raise NotFound("no such deadline")
    return found


@settings_router.get("", response_model=list[ReminderSettingOut],
                     summary="The reminders the caller's institution set per kind of deadline")
async def list_reminder_settings(principal: Reader, session: Session,
                                 policy: ReminderPolicyDep) -> list[ReminderSettingOut]:
    return await service.reminder_settings(session, institution_id=principal.institution_id, policy=policy)


@settings_router.get("/{kind}", response_model=ReminderSettingOut,
                     summary="The reminders for one kind of deadline (the defaults if none were set)")
async def get_reminder_setting(kind: Kind, principal: Reader, session: Session,
                               policy: ReminderPolicyDep) -> ReminderSettingOut:
    return await service.reminder_setting(session, institution_id=principal.institution_id, kind=kind, policy=policy)


@settings_router.put("/{kind}", response_model=ReminderSettingOut,
                     summary="Set the reminders for one kind of deadline; open deadlines of that kind follow")
async def put_reminder_setting(kind: Kind, body: ReminderSettingIn, principal: Manager, session: Session,
                               policy: ReminderPolicyDep, now: Now) -> ReminderSettingOut:
    return await service.put_reminder_setting(session, institution_id=principal.institution_id, kind=kind,
                                              request=body, policy=policy, now=now)


@settings_router.delete("/{kind}", response_model=ReminderSettingOut,
                        summary="Back to the defaults for one kind of deadline")
async def delete_reminder_setting(kind: Kind, principal: Manager, session: Session,
                                  policy: ReminderPolicyDep) -> ReminderSettingOut:
    return await service.delete_reminder_setting(session, institution_id=principal.institution_id, kind=kind,
                                                 policy=policy)
