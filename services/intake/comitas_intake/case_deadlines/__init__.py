"""Deadlines and days shared by filings, proceedings and compliance (see :mod:`.domain`)."""

from .domain import (
    Sourced,
    add_period,
    deadline_key,
    deadline_met,
    deadline_requested,
    invalid_input,
    latest_today,
)

__all__ = ["Sourced", "add_period", "deadline_key", "deadline_met", "deadline_requested", "invalid_input",
           "latest_today"]
