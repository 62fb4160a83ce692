from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query

from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.pagination import PageRequest, page_request

from . import service
from .domain import DeliveryState
from .schemas import DeliveryDetail, DeliveryPage

router = APIRouter(prefix="/v1/deliveries", tags=["deliveries"])

Manager = Scoped("subscriptions:manage")
Page = Annotated[PageRequest, Depends(page_request)]


@router.get("", response_model=DeliveryPage, summary="Webhook deliveries of the caller's subscriptions, newest first")
async def list_deliveries(principal: Manager, session: Session, page: Page,
                          state: Annotated[DeliveryState | None, Query()] = None,
                          subscription_id: Annotated[str | None, Query(max_length=64)] = None) -> DeliveryPage:
    return await service.list_page(session, institution_id=principal.institution_id, page=page, state=state,
                                   subscription_id=subscription_id)


@router.get("/{delivery_id}", response_model=DeliveryDetail, summary="One delivery with every attempt")
async def get_delivery(delivery_id: str, principal: Manager, session: Session) -> DeliveryDetail:
    return await service.get(session, institution_id=principal.institution_id, delivery_id=delivery_id)


@router.post("/{delivery_id}/redeliver", response_model=DeliveryDetail,
             summary="Send a delivered or dead delivery again (a new round; earlier attempts stay in the log)")
async def redeliver(delivery_id: str, principal: Manager, session: Session) -> DeliveryDetail:
    return await service.redeliver(session, institution_id=principal.institution_id, delivery_id=delivery_id)
