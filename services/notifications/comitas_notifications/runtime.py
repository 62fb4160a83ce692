"""What notifications' routers, consumers and background tasks share beyond the platform."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

from fastapi import Depends, Request

from .settings import NotificationsSettings
from .subscriptions.secrets import SecretBox
from .subscriptions.targets import Resolver

if TYPE_CHECKING:
    from .deadlines.timers import DeadlineTimers
    from .deliveries.worker import DeliveryWorker


@dataclass
class Runtime:
    settings: NotificationsSettings
    secrets: SecretBox
    resolver: Resolver
    worker: DeliveryWorker
    timers: DeadlineTimers


def get_runtime(request: Request) -> Runtime:
    return request.app.state.notifications


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
