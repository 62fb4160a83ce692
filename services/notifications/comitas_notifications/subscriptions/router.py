from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status
from fastapi.responses import JSONResponse

from comitas_shared.app import Now, PlatformDep
from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.pagination import Page, PageQuery

from ..deps import ResolverDep, SecretsDep, SettingsDep
from . import service
from .schemas import SubscriptionCreate, SubscriptionCreated, SubscriptionOut, SubscriptionUpdate

router = APIRouter(prefix="/v1/subscriptions", tags=["subscriptions"])

Manager = Scoped("subscriptions:manage")


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SubscriptionCreated,
             summary="Subscribe a webhook or e-mail to event types (cases, urgency, immediate or daily digest); a "
                     "webhook's signing secret is shown only in this answer")
async def create_subscription(body: SubscriptionCreate, principal: Manager, session: Session,
                              platform: PlatformDep, settings: SettingsDep, secrets: SecretsDep,
                              resolver: ResolverDep, now: Now,
                              idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None
                              ) -> JSONResponse:
    targets = service.TargetPolicy(allow_private=settings.allow_private_webhook_targets, resolver=resolver)
    status_code, answer = await service.create(session, platform.idempotency, secrets=secrets, targets=targets,
                                               institution_id=principal.institution_id, request=body,
                                               idempotency_key=idempotency_key, now=now)
    headers = {"Location": f"{router.prefix}/{answer['id']}"} if "id" in answer else None
    return JSONResponse(answer, status_code=status_code, headers=headers)


@router.get("", response_model=Page[SubscriptionOut], summary="The caller's subscriptions, newest first")
async def list_subscriptions(principal: Manager, session: Session, page: PageQuery) -> Page[SubscriptionOut]:
    return await service.list_page(session, institution_id=principal.institution_id, page=page)


@router.get("/{subscription_id}", response_model=SubscriptionOut)
async def get_subscription(subscription_id: str, principal: Manager, session: Session) -> SubscriptionOut:
    return await service.get(session, institution_id=principal.institution_id, subscription_id=subscription_id)


@router.patch("/{subscription_id}", response_model=SubscriptionOut,
              summary="Change what a subscription wants (types, cases, urgency), its mode or its target")
async def update_subscription(subscription_id: str, body: SubscriptionUpdate, principal: Manager, session: Session,
                              settings: SettingsDep, resolver: ResolverDep, now: Now) -> SubscriptionOut:
    targets = service.TargetPolicy(allow_private=settings.allow_private_webhook_targets, resolver=resolver)
    return await service.update(session, targets=targets, institution_id=principal.institution_id,
                                subscription_id=subscription_id, request=body, now=now)


@router.delete("/{subscription_id}", status_code=status.HTTP_204_NO_CONTENT,
               summary="Stop a subscription; its pending deliveries are cancelled")
async def delete_subscription(subscription_id: str, principal: Manager, session: Session, now: Now) -> Response:
    await service.delete(session, institution_id=principal.institution_id, subscription_id=subscription_id, now=now)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
