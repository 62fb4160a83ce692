"""What notifications' routers take from the app beyond the platform: built once in ``create_app``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from .deadlines.policy import ReminderPolicy
from .directory.schemas import ProfileDefaults
from .feeds.broker import FeedBroker
from .settings import NotificationsSettings
from .signing_secrets import SecretBox
from .webhook_targets import Resolver


def get_settings(request: Request) -> NotificationsSettings:
    return request.app.state.settings


def get_secrets(request: Request) -> SecretBox:
    return request.app.state.secrets


def get_resolver(request: Request) -> Resolver:
    return request.app.state.resolver


def get_reminder_policy(request: Request) -> ReminderPolicy:
    return request.app.state.reminder_policy


def get_mailer(request: Request) -> Any:
    """The delivery worker's e-mail channel (typed loosely: deliveries imports this module)."""
    return request.app.state.mailer


def get_profile_defaults(request: Request) -> ProfileDefaults:
    return request.app.state.profile_defaults


def get_feed_broker(request: Request) -> FeedBroker:
    return request.app.state.feeds


SettingsDep = Annotated[NotificationsSettings, Depends(get_settings)]
SecretsDep = Annotated[SecretBox, Depends(get_secrets)]
ResolverDep = Annotated[Resolver, Depends(get_resolver)]
ReminderPolicyDep = Annotated[ReminderPolicy, Depends(get_reminder_policy)]
MailerDep = Annotated[Any, Depends(get_mailer)]
ProfileDefaultsDep = Annotated[ProfileDefaults, Depends(get_profile_defaults)]
FeedBrokerDep = Annotated[FeedBroker, Depends(get_feed_broker)]
