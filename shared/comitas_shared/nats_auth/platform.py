"""The subjects the PLATFORM account shares with an institution's account, one feed each (ADR 0033).

The services publish each institution's events to ``feed.<institution_id>.<context>.<event>`` in the
``FEEDS`` stream. A durable push consumer per institution (``feed-<institution_id>``, platform-owned)
delivers them to ``deliver.feed.<institution_id>``; the institution acknowledges on the consumer's
``$JS.ACK.FEEDS.feed-<institution_id>.>`` subjects. PLATFORM exports both, privately (an activation
token per importer), and each institution's account imports only its own."""

from __future__ import annotations

import re

from .jwt import Export

FEEDS_STREAM = "FEEDS"
FEED_SUBJECT_PREFIX = "feed"
DELIVER_PREFIX = "deliver.feed"
CONSUMER_PREFIX = "feed-"

# An institution id must be one subject token and a consumer name: no dots, wildcards or spaces.
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


def usable_institution_id(institution_id: str) -> bool:
    return bool(_TOKEN.match(institution_id))


def feed_subjects(institution_id: str) -> str:
    return f"{FEED_SUBJECT_PREFIX}.{institution_id}.>"


def consumer_name(institution_id: str) -> str:
    return f"{CONSUMER_PREFIX}{institution_id}"


def deliver_subject(institution_id: str) -> str:
    return f"{DELIVER_PREFIX}.{institution_id}"


def ack_subjects(institution_id: str) -> str:
    return f"$JS.ACK.{FEEDS_STREAM}.{consumer_name(institution_id)}.>"


PLATFORM_EXPORTS = (
    Export(name="feed deliveries", subject=f"{DELIVER_PREFIX}.*", type="stream"),
    Export(name="feed acknowledgements", subject=f"$JS.ACK.{FEEDS_STREAM}.*.>", type="service",
           response_type="Singleton"),
)
