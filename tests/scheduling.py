"""How ``make test`` hands test files to its two xdist workers: longest first, a few files split.

``--dist loadfile`` keeps a file on one worker (its module fixtures are built once) and hands out files in
the order of their number of tests. The slowest files have few tests (a stack started as processes, a
fault injected, schemathesis's budget), so they came last and one worker ran them alone while the other
sat idle: minutes of the CI's budget. Here the files known to be slow go first, and two are split:
``test_openapi_truth.py`` by service (each service's two tests share a module fixture of their own) and
``test_devstack.py`` test by test (each test starts its own stack).

``FILE_SECONDS`` is an ordering hint measured with ``pytest --durations=0`` (a file's setup, call and
teardown times summed, the larger of SQLite and PostgreSQL); a stale figure costs time, never a result.
"""

from __future__ import annotations

import re
from typing import Any

from xdist.scheduler import LoadFileScheduling

FILE_SECONDS: dict[str, float] = {
    "tests/test_openapi_truth.py": 290,
    "tests/test_devstack.py": 160,
    "tests/test_cluster.py": 360,
    "tests/test_platform_journey.py": 80,
    "services/portal/tests/test_portal_journey.py": 78,
    "services/notifications/tests/test_notifications_reminders_crash.py": 66,
    "tests/test_draining.py": 64,
    "services/referral/tests/test_referral_receipts_api.py": 38,
    "services/referral/tests/test_referral_crash.py": 37,
    "tests/test_webhook_crash.py": 44,
    "tests/test_standards_asyncapi.py": 36,
    "tests/test_proceeding_deadlines_reach_notifications.py": 30,
    "services/referral/tests/test_referral_consent_and_erasure.py": 30,
    "tests/test_idempotency_crash.py": 52,
    "services/portal/tests/test_portal_browser.py": 40,
    "tests/test_boundaries.py": 23,
    "services/notifications/tests/test_notifications_deadlines.py": 22,
    "services/portal/tests/test_portal_live.py": 19,
    "services/identity/tests/test_identity_throttle.py": 18,
    "services/intake/tests/test_public_browser.py": 37,
    "services/referral/tests/test_referral_sending.py": 30,
    "services/intake/tests/test_complaints_api.py": 21,
    "services/referral/tests/test_referral_tenancy.py": 20,
    "tests/test_standards_tracing.py": 19,
    "services/mla/tests/test_mla_legal_bases.py": 19,
}

# Files whose tests are handed out in smaller pieces: by parameter, or one test at a time.
SPLIT_BY_PARAMETER = {"tests/test_openapi_truth.py"}
SPLIT_BY_TEST = {"tests/test_devstack.py"}

_PARAMETER = re.compile(r"\[([^\]]*)\]$")


def scope_of(nodeid: str) -> str:
    """The unit a worker takes whole: the file, or for the split files a parameter's or a test's share."""
    path = nodeid.split("::", 1)[0]
    if path in SPLIT_BY_TEST:
        return _PARAMETER.sub("", nodeid)
    if path in SPLIT_BY_PARAMETER and (parameter := _PARAMETER.search(nodeid)):
        return f"{path}[{parameter.group(1)}]"
    return path


def seconds_of(scope: str) -> float:
    """A unit's expected time: its file's, shared among the file's pieces (each counts as the whole, so
    the split files still go first)."""
    return FILE_SECONDS.get(re.sub(r"(::.*|\[.*\])$", "", scope), 0.0)


class LongestFirstFileScheduling(LoadFileScheduling):
    """``loadfile`` with the units ordered by ``seconds_of`` (longest first; the others in xdist's own
    order, most tests first) and the split files' pieces as units of their own."""

    def __init__(self, config: Any, log: Any = None) -> None:
        super().__init__(config, log)
        self._ordered = False

    def _split_scope(self, nodeid: str) -> str:
        return scope_of(nodeid)

    def _assign_work_unit(self, node: Any) -> None:
        if not self._ordered:
            # The work queue is complete when the first unit is assigned (``schedule`` fills it, then
            # assigns): reorder it once, a stable sort keeping xdist's order among equals.
            self._ordered = True
            units = sorted(self.workqueue.items(), key=lambda unit: -seconds_of(unit[0]))
            self.workqueue.clear()
            self.workqueue.update(units)
        super()._assign_work_unit(node)
