"""Which event types a subscription may ask for, and which events it receives. Pure functions."""

from __future__ import annotations

from collections.abc import Iterable

WILDCARD = "*"


def _is_prefix_pattern(pattern: str) -> bool:
    return pattern.endswith(".*") and pattern != ".*"


def pattern_matches(pattern: str, event_type: str) -> bool:
    """``*`` matches every type; ``comitas.complaint.*`` every type of that context; otherwise exact."""
    if pattern == WILDCARD:
        return True
    if _is_prefix_pattern(pattern):
        return event_type.startswith(pattern[:-1])
    return pattern == event_type


def matches(patterns: Iterable[str], event_type: str) -> bool:
    return any(pattern_matches(p, event_type) for p in patterns)


def normalise_event_types(requested: Iterable[str], external_types: Iterable[str]) -> tuple[list[str], list[str]]:
    """The patterns to store (deduplicated, in the order given) and those that name no external type.

    A pattern must match at least one type that institutions may receive, so a typo is refused rather
    than stored as a subscription that never fires; internal (security) types cannot be asked for.
    """
    known = set(external_types)
    kept: list[str] = []
    unknown: list[str] = []
    for pattern in requested:
        pattern = pattern.strip()
        if pattern in kept:
            continue
        if any(pattern_matches(pattern, t) for t in known):
            kept.append(pattern)
        else:
            unknown.append(pattern)
    return kept, unknown
