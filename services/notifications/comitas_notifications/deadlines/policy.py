"""Which reminders an institution gets for a kind of deadline: its own setting, or the service's
defaults (``deadline_reminder_days``, ``deadline_reminder_on_the_day``, ``deadline_reminder_overdue``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from ..settings import NotificationsSettings
from .domain import ReminderOffsets, default_offsets, reminder_offsets
from .models import ReminderSetting


@dataclass(frozen=True)
class ReminderPolicy:
    defaults: ReminderOffsets
    on_the_day_at: time

    @classmethod
    def from_settings(cls, settings: NotificationsSettings) -> ReminderPolicy:
        return cls(default_offsets(settings.deadline_reminder_days, on_the_day=settings.deadline_reminder_on_the_day,
                                   overdue=settings.deadline_reminder_overdue),
                   settings.deadline_reminder_on_the_day_at)

    def offsets(self, setting: ReminderSetting | None) -> ReminderOffsets:
        if setting is None:
            return self.defaults
        return reminder_offsets(setting.before, on_the_day=setting.on_the_day, overdue=setting.overdue)
