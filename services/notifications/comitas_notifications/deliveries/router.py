from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from comitas_shared.app import Now
from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.pagination import Page, PageQuery

from ..deps import MailerDep, SecretsDep
from . import service
from .domain import Channel, DeliveryKind, DeliveryState
from .schemas import DeliveryDetail, DeliveryOut, MessagePreview

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"])

Manager = Scoped("subscriptions:manage")


@router.get("", response_model=Page[DeliveryOut],
            summary="Deliveries (webhooks, e-mails; events and digests) of the caller's subscriptions, newest first")
async def list_deliveries(principal: Manager, session: Session, page: PageQuery,
                          state: Annotated[DeliveryState | None, Query()] = None,
                          subscription_id: Annotated[str | None, Query(max_length=64)] = None,
                          channel: Annotated[Channel | None, Query()] = None,
                          kind: Annotated[DeliveryKind | None, Query()] = None) -> Page[DeliveryOut]:
    return await service.list_page(session, institution_id=principal.institution_id, page=page, state=state,
                                   subscription_id=subscription_id, channel=channel, kind=kind)


@router.get("/{delivery_id}", response_model=DeliveryDetail, summary="One delivery with every attempt")
async def get_delivery(delivery_id: str, principal: Manager, session: Session) -> DeliveryDetail:
    return await service.get(session, institution_id=principal.institution_id, delivery_id=delivery_id)


@router.get("/{delivery_id}/message", response_model=MessagePreview,
            summary="An e-mail delivery's message as it would be sent now (subject, text, HTML, addresses)")
async def preview_message(delivery_id: str, principal: Manager, session: Session, secrets: SecretsDep,
                          mailer: MailerDep) -> MessagePreview:
    return await service.preview(session, secrets, mailer, institution_id=principal.institution_id,
                                 delivery_id=delivery_id)


@router.post("/{delivery_id}/redeliver", response_model=DeliveryDetail,
             summary="Send a delivered, dead or failed delivery again (a new round; earlier attempts stay in the log)")
async def redeliver(delivery_id: str, principal: Manager, session: Session, now: Now) -> DeliveryDetail:
    return await service.redeliver(session, institution_id=principal.institution_id, delivery_id=delivery_id,
                                   now=now)
