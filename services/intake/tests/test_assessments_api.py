"""Admissibility assessment through intake's API: stored with its rules version, re-run on request,
and every filing limit announced as a deadline that notifications watches."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime

import pytest

from comitas_shared.testing import ServedApp, eventually

ECHR_CASE = {
    "summary": "Ill-treatment in police custody; the appeal was dismissed.",
    "respondent_states": ["FR"],
    "rights_invoked": ["ECHR art 3"],
    "domestic_remedies": [{"description": "Cour de cassation", "exhausted": True,
                           "final_decision_date": "2026-10-30", "notification_date": "2026-11-04"}],
    "filer": {"kind": "individual", "is_victim": True},
}


@pytest.fixture(autouse=True)
def pinned_today(stack):
    """The expected dates below are facts of law for a complaint assessed on 21 November 2026."""
    app = stack.intake.app
    original = app.state.platform.clock
    app.state.platform.clock = lambda: datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    yield
    app.state.platform.clock = original


async def create(api, body=ECHR_CASE) -> dict:
    response = await api.post("/v1/complaints", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def finding(assessment: dict, mechanism: str) -> dict:
    return next(f for f in assessment["result"]["findings"] if f["mechanism"] == mechanism)


async def test_assessment_is_stored_and_shown_again_unchanged(stack):
    owner = await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        complaint = await create(api)
        made = await api.post(f"/v1/complaints/{complaint['id']}/assessments")
        assert made.status_code == 201, made.text
        assessment = made.json()
        echr = finding(assessment, "echr")
        limit = next(t for t in echr["time_limits"] if t["last_day"])
        # Counted from service (Worm v. Austria §33), four months: a Thursday.
        assert limit["start_date"] == "2026-11-04" and limit["last_day"] == "2027-03-04"
        assert echr["citations"] and all(c["source"] and c["status"] for c in echr["citations"])
        assert assessment["rules_version"] and assessment["stale"] is False

        again = await api.get(f"/v1/complaints/{complaint['id']}/assessments/{assessment['id']}")
        assert again.json() == assessment
        listed = await api.get(f"/v1/complaints/{complaint['id']}/assessments")
        assert [a["id"] for a in listed.json()] == [assessment["id"]]


async def test_changed_complaint_marks_assessment_stale_and_rerun_follows_the_change(stack):
    owner = await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        complaint = await create(api)
        first = (await api.post(f"/v1/complaints/{complaint['id']}/assessments")).json()
        changed = await api.patch(f"/v1/complaints/{complaint['id']}", json={"domestic_remedies": [
            {"description": "Cour de cassation", "exhausted": True, "final_decision_date": "2026-11-13"}]})
        assert changed.status_code == 200 and changed.json()["version"] == 2
        stale = (await api.get(f"/v1/complaints/{complaint['id']}/assessments/{first['id']}")).json()
        assert stale["stale"] and "the complaint changed since this assessment" in stale["stale_reasons"]
        assert stale["result"] == first["result"]
        second = (await api.post(f"/v1/complaints/{complaint['id']}/assessments")).json()
        limit = next(t for t in finding(second, "echr")["time_limits"] if t["last_day"])
        assert limit["last_day"] == "2027-03-13"


async def test_assessment_needs_manage_scope_and_tenancy(stack):
    owner, other = await stack.new_institution(), await stack.new_institution()
    async with await stack.client_for("intake", owner, scope="complaints:submit complaints:read") as api:
        complaint = await create(api)
        denied = await api.post(f"/v1/complaints/{complaint['id']}/assessments")
        assert denied.status_code == 403
    async with await stack.client_for("intake", other) as api:
        assert (await api.post(f"/v1/complaints/{complaint['id']}/assessments")).status_code == 404
        assert (await api.get(f"/v1/complaints/{complaint['id']}/assessments")).status_code == 404


async def test_complaint_without_respondent_state_is_a_clear_422(stack):
    owner = await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        complaint = await create(api, {"summary": "No state named yet."})
        response = await api.post(f"/v1/complaints/{complaint['id']}/assessments")
    assert response.status_code == 422
    assert response.json()["type"].endswith("/complaint-not-assessable")


async def test_mechanism_catalogue_lists_sources(stack):
    owner = await stack.new_institution()
    async with await stack.client_for("intake", owner, scope="complaints:read") as api:
        catalogue = (await api.get("/v1/mechanisms")).json()
    codes = {m["code"] for m in catalogue["mechanisms"]}
    assert {"echr", "iachr", "achpr", "afchpr", "ccpr", "cat", "cerd", "cedaw", "cescr", "crc", "crpd", "ced",
            "ced_ua", "sp", "wgad", "ecsr"} <= codes
    assert catalogue["rules_version"] and catalogue["acceptance_lists"]


async def test_deadline_events_reach_notifications_with_the_right_dates(stack):
    owner = await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        complaint = await create(api)
        await api.post(f"/v1/complaints/{complaint['id']}/assessments")
    key = f"complaint:{complaint['id']}:filing:echr"
    async with await stack.client_for("notifications", owner, scope="deadlines:read") as api:
        async def watched():
            items = (await api.get("/v1/deadlines", params={"limit": 100})).json()["items"]
            return next((d for d in items if d["deadline_key"] == key), None)

        deadline = await eventually(watched, timeout=10)
    assert deadline["last_day"] == "2027-03-04"
    assert deadline["time_zone"] == "Europe/Paris"
    # The end of 28 February 2027 in Strasbourg is 22:59:59 UTC (CET = UTC+1).
    assert deadline["due_at"].startswith("2027-03-04T22:59:59")
    assert deadline["mechanism"] == "echr"


async def test_new_rules_change_new_assessments_but_not_stored_ones(stack, tmp_path):
    from comitas_intake.admissibility.catalogue import MECHANISMS_DIR
    from comitas_intake.main import create_app

    rules = tmp_path / "mechanisms"
    shutil.copytree(MECHANISMS_DIR, rules)
    echr = rules / "echr.toml"
    text = echr.read_text()
    assert 'version = "' in text
    # A rule-set change: a newer version of the ECtHR file (here: the same rules, a new version date).
    echr.write_text(text.replace('version = "', 'version = "2099-01-01" # was "', 1))

    owner = await stack.new_institution()
    async with await stack.client_for("intake", owner) as api:
        complaint = await create(api)
        stored = (await api.post(f"/v1/complaints/{complaint['id']}/assessments")).json()

    settings = stack.intake.app.state.settings.model_copy(update={"rules_dir": str(rules)})
    newer_app = create_app(settings)
    newer_app.state.platform.clock = stack.intake.app.state.platform.clock
    newer = await ServedApp(newer_app).start()
    try:
        token = await stack.token(owner)
        import httpx

        async with httpx.AsyncClient(base_url=newer.url, headers={"Authorization": f"Bearer {token}"}) as api:
            old = (await api.get(f"/v1/complaints/{complaint['id']}/assessments/{stored['id']}")).json()
            assert old["result"] == stored["result"] and old["rules_version"] == stored["rules_version"]
            assert old["stale"] and "the rules changed since this assessment" in old["stale_reasons"]
            fresh = (await api.post(f"/v1/complaints/{complaint['id']}/assessments")).json()
            assert fresh["rules_version"] != stored["rules_version"]
            assert finding(fresh, "echr")["rules_version"] == "2099-01-01"
    finally:
        await newer.stop()


def test_malformed_rule_file_stops_start_up_naming_file_and_field(tmp_path):
    from comitas_intake.admissibility.catalogue import MECHANISMS_DIR, RuleFileError
    from comitas_intake.main import create_app
    from comitas_intake.settings import IntakeSettings

    rules = tmp_path / "mechanisms"
    shutil.copytree(MECHANISMS_DIR, rules)
    cat = rules / "cat.toml"
    cat.write_text(cat.read_text().replace("[time_limit]", "[time_limit]\nbogus_field = 1", 1))
    with pytest.raises(RuleFileError) as error:
        create_app(IntakeSettings(database_url=f"sqlite+aiosqlite:///{tmp_path}/x.db", rules_dir=str(rules)))
    assert "cat.toml" in str(error.value) and "time_limit.bogus_field" in str(error.value)
