from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status
from fastapi.responses import JSONResponse

from comitas_shared.app import PlatformDep
from comitas_shared.auth import Scoped
from comitas_shared.db import Session
from comitas_shared.openapi import problem_responses

from ..deps import FeedBrokerDep
from . import service
from .schemas import FeedCredentials, FeedCredentialsCreate, FeedOut, FeedReplay, FeedReplayed

router = APIRouter(prefix="/v1/feeds", tags=["feeds"])

Subscriber = Scoped("events:subscribe")


@router.get("", response_model=FeedOut, responses=problem_responses(service.FeedsUnavailable),
            summary="The institution's own NATS feed: where to connect, what to subscribe to, its consumer's state")
async def describe_feed(principal: Subscriber, broker: FeedBrokerDep) -> FeedOut:
    return await service.describe(broker, institution_id=principal.institution_id)


@router.post("/credentials", status_code=status.HTTP_201_CREATED, response_model=FeedCredentials,
             responses=problem_responses(service.FeedsUnavailable, service.InstitutionNotActive),
             summary="New NATS credentials (a .creds file) that read this institution's feed and nothing else; "
                     "the seed is shown only in this answer")
async def issue_credentials(principal: Subscriber, session: Session, platform: PlatformDep, broker: FeedBrokerDep,
                            body: FeedCredentialsCreate | None = None,
                            idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None
                            ) -> JSONResponse:
    status_code, answer = await service.issue_credentials(
        session, platform.idempotency, broker, institution_id=principal.institution_id,
        request=body or FeedCredentialsCreate(), idempotency_key=idempotency_key)
    return JSONResponse(answer, status_code=status_code)


@router.delete("/credentials", status_code=status.HTTP_204_NO_CONTENT,
               responses=problem_responses(service.FeedsUnavailable),
               summary="Revoke every NATS credential issued for this institution's feed so far (connected "
                       "subscribers are disconnected); credentials issued afterwards work")
async def revoke_credentials(principal: Subscriber, broker: FeedBrokerDep) -> Response:
    await service.revoke_credentials(broker, institution_id=principal.institution_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/replay", response_model=FeedReplayed, responses=problem_responses(service.FeedsUnavailable),
             summary="Deliver the feed again from a point in time: the durable consumer is recreated with that "
                     "start (events not acknowledged before are delivered again with the rest)")
async def replay_feed(body: FeedReplay, principal: Subscriber, broker: FeedBrokerDep) -> FeedReplayed:
    return await service.replay(broker, institution_id=principal.institution_id, request=body)
