from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Response, status
from fastapi.responses import JSONResponse

from comitas_shared.app import PlatformDep
from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.pagination import PageRequest, page_request

from ..runtime import RuntimeDep
from . import service
from .schemas import SubscriptionCreate, SubscriptionCreated, SubscriptionOut, SubscriptionPage

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])

Manager = Scoped("subscriptions:manage")
Page = Annotated[PageRequest, Depends(page_request)]


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SubscriptionCreated,
             summary="Subscribe a webhook to event types; the signing secret is shown only in this answer")
async def create_subscription(body: SubscriptionCreate, principal: Manager, session: Session,
                              platform: PlatformDep, runtime: RuntimeDep,
                              idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None
                              ) -> JSONResponse:
    status_code, answer = await service.create(session, runtime, platform.idempotency,
                                               institution_id=principal.institution_id, request=body,
                                               idempotency_key=idempotency_key)
    headers = {"Location": f"{router.prefix}/{answer['id']}"} if "id" in answer else None
    return JSONResponse(answer, status_code=status_code, headers=headers)


@router.get("", response_model=SubscriptionPage, summary="The caller's subscriptions, newest first")
async def list_subscriptions(principal: Manager, session: Session, page: Page) -> SubscriptionPage:
    return await service.list_page(session, institution_id=principal.institution_id, page=page)


@router.get("/{subscription_id}", response_model=SubscriptionOut)
async def get_subscription(subscription_id: str, principal: Manager, session: Session) -> SubscriptionOut:
    return await service.get(session, institution_id=principal.institution_id, subscription_id=subscription_id)


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Stop a subscription; its pending deliveries are cancelled")
async def delete_subscription(subscription_id: str, principal: Manager, session: Session) -> Response:
    await service.delete(session, institution_id=principal.institution_id, subscription_id=subscription_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
