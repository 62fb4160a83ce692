"""The patterns domain, pure: clusters of distinct victims per state and type of act in the window,
alerts raised once per cluster to the subscribers who want it, and who may subscribe."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from comitas_intake.patterns import domain

TODAY = date(2026, 12, 1)
NOW = datetime(2026, 12, 1, tzinfo=UTC)


def case(victim: str, institution: str = "a", state: str = "TR", act: str = "030102", day: date = TODAY):
    return domain.Case(institution_id=institution, respondent_state=state, act_type=act, victim=victim, day=day)


def test_five_distinct_victims_in_the_window_make_a_cluster_four_do_not():
    five = [case(f"v{i}", institution="abc"[i % 3]) for i in range(5)]
    found = domain.clusters(five, today=TODAY)
    assert [(c.respondent_state, c.act_type, c.victims, c.institutions) for c in found] == [("TR", "030102", 5, 3)]
    assert domain.clusters(five[:4], today=TODAY) == []
    # The same victim held by two institutions counts once; outside the window, another state or act: not counted.
    assert domain.clusters([*five[:4], case("v0", institution="z")], today=TODAY) == []
    for extra in (case("v9", day=date(2026, 1, 1)), case("v9", state="AM"), case("v9", act="0201")):
        assert domain.clusters([*five[:4], extra], today=TODAY) == []


def test_an_alert_is_raised_once_per_cluster_to_each_subscriber_who_wants_it():
    cluster = domain.clusters([case(f"v{i}") for i in range(6)], today=TODAY)
    subscribers = [domain.Subscription("s1", "commission", frozenset()),
                   domain.Subscription("s2", "field-office", frozenset({"TR"})),
                   domain.Subscription("s3", "nhri-elsewhere", frozenset({"AM"}))]
    first = domain.alerts(cluster, active=[], subscriptions=subscribers, pattern_ids={("TR", "030102"): "p1"},
                          threshold=5, now=NOW, source="t")
    assert [e.institutionid for e in first.events] == ["commission", "field-office"]
    assert first.events[0].concerns == ("commission",)
    assert set(first.events[0].data) == {"pattern_id", "institution_id", "respondent_state", "act_type",
                                         "window_start", "window_end", "victims", "institutions", "threshold",
                                         "detected_at"}
    again = domain.alerts(cluster, active=[("TR", "030102")], subscriptions=subscribers, pattern_ids={},
                          threshold=5, now=NOW, source="t")
    assert again.events == [] and again.cleared == []
    ended = domain.alerts([], active=[("TR", "030102")], subscriptions=subscribers, pattern_ids={}, threshold=5,
                          now=NOW, source="t")
    assert ended.cleared == [("TR", "030102")]


@pytest.mark.parametrize(("kind", "allowed"), [
    ("regional_commission", True), ("un_field_office", True), ("nhri", True), ("ombudsperson", True),
    ("central_authority", False), ("platform_service", False), ("equality_body", False), (None, False),
    ("ministry", False),
])
def test_who_may_subscribe(kind, allowed):
    assert domain.may_subscribe(kind) is allowed
