from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from comitas_shared.app import Now
from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.openapi import problem_responses

from . import service
from .schemas import SubscriptionCreate, SubscriptionOut

router = APIRouter(prefix="/v1/pattern-subscriptions", tags=["patterns"])
Manager = Scoped("subscriptions:manage")


@router.post("", response_model=SubscriptionOut, status_code=201,
             responses=problem_responses(service.StateAuthorityRefused),
             summary="Subscribe to alerts of complaints clustering against a state (counts only; never for a "
                     "state authority)")
async def subscribe(request: SubscriptionCreate, session: Session, principal: Manager, now: Now) -> SubscriptionOut:
    return await service.subscribe(session, principal=principal, request=request, now=now)


@router.get("/{subscription_id}", response_model=SubscriptionOut, summary="A pattern-alert subscription")
async def get_subscription(subscription_id: str, session: Session, principal: Manager) -> SubscriptionOut:
    return await service.get(session, institution_id=principal.institution_id, subscription_id=subscription_id)


@router.delete("/{subscription_id}", status_code=204, response_class=Response, summary="Unsubscribe")
async def unsubscribe(subscription_id: str, session: Session, principal: Manager) -> Response:
    await service.unsubscribe(session, institution_id=principal.institution_id, subscription_id=subscription_id)
    return Response(status_code=204)
