"""The feed's token is in its URL (calendar clients cannot send a bearer token), and uvicorn's access log
prints every request's path: this filter, installed by the service on ``uvicorn.access``, replaces the
token with ``[redacted]`` before any handler formats the line."""

from __future__ import annotations

import logging
import re

FEED_PATH = re.compile(r"(/calendar-feeds/)[^/?#\s\"]+?(\.ics)")
REDACTED = r"\1[redacted]\2"
ACCESS_LOGGERS = ("uvicorn.access",)


def redact(text: str) -> str:
    return FEED_PATH.sub(REDACTED, text)


class RedactFeedTokens(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str) and "calendar-feeds" in record.msg:
            record.msg = redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: redact(v) if isinstance(v, str) else v for k, v in record.args.items()}
        return True


def install_access_log_redaction() -> None:
    """Once per process, however many apps it builds."""
    for name in ACCESS_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactFeedTokens) for f in logger.filters):
            logger.addFilter(RedactFeedTokens())
