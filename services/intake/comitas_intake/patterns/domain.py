"""Patterns across institutions, decided without I/O: when complaints against one state for one type of act
cluster (at least :data:`THRESHOLD` distinct victims within :data:`WINDOW_DAYS`, counted by keyed digests
of who they are, whichever institution holds them), the institutions that subscribed are told the counts,
never a case, a victim or the institutions holding them. A state authority never subscribes: the alert
is about a state, for those who watch states (regional commissions, UN field offices, NHRIs...).

The window and threshold are policy (what is worth an alert), not law; the threshold is the platform's
rule for cells that leave the system (DESIGN §6: nothing under 5 persons).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from comitas_shared.events.catalogue import PATTERN_DETECTED, PatternDetected
from comitas_shared.events.envelope import CloudEvent

THRESHOLD = 5
WINDOW_DAYS = 180
# Who may subscribe: an allow-list of kinds independent of the government by mandate, international, or
# non-governmental, so a kind added later (a ministry, a prosecutor) is refused until someone decides.
SUBSCRIBER_KINDS: frozenset[str] = frozenset({"regional_commission", "un_field_office", "nhri", "ombudsperson",
                                              "treaty_body", "ngo", "legal_aid_ngo"})


def may_subscribe(institution_kind: str | None) -> bool:
    """Whether an institution of this kind may receive pattern alerts (an unknown kind may be the state's)."""
    return institution_kind in SUBSCRIBER_KINDS


@dataclass(frozen=True)
class Case:
    """One victim of one complaint as patterns know it: a keyed digest, codes and a day."""

    institution_id: str
    respondent_state: str
    act_type: str
    victim: str  # keyed digest
    day: date


@dataclass(frozen=True)
class Cluster:
    respondent_state: str
    act_type: str
    victims: int
    institutions: int
    window_start: date
    window_end: date

    @property
    def key(self) -> tuple[str, str]:
        return self.respondent_state, self.act_type


def clusters(cases: Iterable[Case], *, today: date, threshold: int = THRESHOLD,
             window_days: int = WINDOW_DAYS) -> list[Cluster]:
    """Per (state, type of act), the distinct victims of cases dated within the window ending today, when
    they reach the threshold. Codes are compared as given (a narrower code is not counted under a broader
    one: one cluster, one alert)."""
    start = today - timedelta(days=window_days)
    victims: dict[tuple[str, str], set[str]] = {}
    holders: dict[tuple[str, str], set[str]] = {}
    for case in cases:
        if not start <= case.day <= today:
            continue
        key = (case.respondent_state, case.act_type)
        victims.setdefault(key, set()).add(case.victim)
        holders.setdefault(key, set()).add(case.institution_id)
    return [Cluster(state, act, len(found), len(holders[(state, act)]), start, today)
            for (state, act), found in sorted(victims.items()) if len(found) >= threshold]


@dataclass(frozen=True)
class Subscription:
    id: str
    institution_id: str
    states: frozenset[str]  # empty: every state

    def wants(self, cluster: Cluster) -> bool:
        return not self.states or cluster.respondent_state in self.states


@dataclass(frozen=True)
class Alerts:
    raised: list[Cluster]
    cleared: list[tuple[str, str]]
    events: list[CloudEvent]


def alerts(found: Sequence[Cluster], *, active: Iterable[tuple[str, str]], subscriptions: Iterable[Subscription],
           pattern_ids: dict[tuple[str, str], str], threshold: int, now: datetime, source: str) -> Alerts:
    """A cluster not already alerted raises one event per subscriber who wants it (that subscriber
    alone concerned); an alerted cluster stays quiet while it lasts, and is cleared when it falls under
    the threshold, so a later rise alerts again."""
    current = set(active)
    raised = [c for c in found if c.key not in current]
    cleared = sorted(current - {c.key for c in found})
    events = [PATTERN_DETECTED.build(
        source=source, subject=pattern_ids[c.key], institution_id=s.institution_id, time=now,
        concerns=(s.institution_id,),
        data=PatternDetected(pattern_id=pattern_ids[c.key], institution_id=s.institution_id,
                             respondent_state=c.respondent_state, act_type=c.act_type,
                             window_start=c.window_start, window_end=c.window_end, victims=c.victims,
                             institutions=c.institutions, threshold=threshold, detected_at=now))
        for c in raised for s in sorted(subscriptions, key=lambda s: s.institution_id) if s.wants(c)]
    return Alerts(raised=raised, cleared=cleared, events=events)
