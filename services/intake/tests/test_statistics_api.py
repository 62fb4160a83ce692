"""Statistics through the running stack: the caller's institution's tables, no cell under 5, a fixed
set of tables with no filter, and an erased complaint still counted.

Complaints are counted here through ``statistics.service`` (what the complaint feature calls on
submission and on each status change)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from comitas_intake.duplicates import service as duplicates
from comitas_intake.statistics import service
from comitas_shared.auth import InstitutionId
from comitas_shared.db import Database


async def count(stack, who, cases: list[dict]) -> list[str]:
    ids = []
    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            for case in cases:
                complaint_id = case.pop("complaint_id", None) or str(uuid.uuid4())
                await service.count_complaint(session, institution_id=InstitutionId(who.institution_id),
                                              complaint_id=complaint_id, **case)
                ids.append(complaint_id)
    finally:
        await database.dispose()
    return ids


async def statistics(stack, who, **params) -> dict:
    async with await stack.client_for("intake", who, scope="complaints:read") as api:
        response = await api.get("/v1/statistics", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def case(state: str = "FR", act: str = "torture", month: str = "2026-01", status: str = "received",
         victims: int = 1) -> dict:
    return {"respondent_states": [state], "act_types": [act], "month": month, "status": status, "victims": victims}


def published_values(body: dict) -> list[int]:
    values = [body["total_complaints"], body["total_victims"]]
    for table in body["tables"]:
        values += [table["total_complaints"], table["total_victims"]]
        for cell in table["cells"]:
            values += [cell["complaints"], cell["victims"]]
    return [v for v in values if v is not None]


def table(body: dict, dimension: str) -> dict:
    return next(t for t in body["tables"] if t["dimension"] == dimension)


async def test_the_institution_s_tables_suppress_small_cells_and_take_no_filter(stack):
    owner, other = await stack.new_institution(kind="ngo"), await stack.new_institution(kind="ngo")
    await count(stack, owner, [case("FR", victims=2) for _ in range(8)] + [case("DE", month="2026-02") for _ in range(6)]
                + [case("TR", act="enforced_disappearance", month="2026-02", status="active")])
    body = await statistics(stack, owner)
    assert body["scope"] == "institution" and body["institution_id"] == owner.institution_id
    assert body["threshold"] == 5
    assert body["total_complaints"] == 15 and body["total_victims"] == 23
    assert [t["dimension"] for t in body["tables"]] == ["respondent_state", "act_type", "month", "status"]
    assert all(v >= 5 for v in published_values(body))
    states = {c["key"]: c for c in table(body, "respondent_state")["cells"]}
    assert states["TR"]["suppressed"] and states["TR"]["complaints"] is None
    # TR alone would be 15 - 8 - 6 = 1: the smallest other state goes with it.
    assert states["DE"]["suppressed"] and states["FR"]["complaints"] == 8
    # A filter is not a feature: the same answer whatever is asked.
    assert {k: v for k, v in (await statistics(stack, owner, respondent_state="TR", month="2026-02")).items()
            if k != "generated_at"} == {k: v for k, v in body.items() if k != "generated_at"}
    # Another institution sees its own (empty) statistics, nothing of these.
    theirs = await statistics(stack, other)
    assert theirs["total_complaints"] is None and all(t["withheld"] and not t["cells"] for t in theirs["tables"])


async def test_status_changes_move_counts_and_counting_again_replaces(stack):
    owner = await stack.new_institution(kind="nhri")
    ids = await count(stack, owner, [case() for _ in range(10)])
    await count(stack, owner, [case(victims=3) | {"complaint_id": ids[0]}])
    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            for complaint_id in ids[:5]:
                await service.update_status(session, institution_id=InstitutionId(owner.institution_id),
                                            complaint_id=complaint_id, status="closed")
            await service.update_status(session, institution_id=InstitutionId(owner.institution_id),
                                        complaint_id=str(uuid.uuid4()), status="closed")
    finally:
        await database.dispose()
    body = await statistics(stack, owner)
    assert body["total_complaints"] == 10 and body["total_victims"] == 12
    assert {c["key"]: c["complaints"] for c in table(body, "status")["cells"]} == {"closed": 5, "received": 5}


async def test_an_erased_complaint_is_still_counted(stack):
    owner = await stack.new_institution(kind="ngo")
    ids = await count(stack, owner, [case("GR", month="2026-03") for _ in range(6)])
    keyring = stack.intake.app.state.keyring
    database = Database(stack.database_urls["intake"])
    try:
        async with database.transaction() as session:
            await duplicates.index_complaint(
                session, keyring, institution_id=InstitutionId(owner.institution_id), institution_kind="ngo",
                complaint_id=ids[0], persons=[("Yusuf Farah", "1979-11-30")], incidents=[], coordination_consent=True,
                now=datetime(2026, 12, 1, tzinfo=UTC))
        async with database.transaction() as session:
            await duplicates.forget_complaint(session, institution_id=InstitutionId(owner.institution_id),
                                              complaint_id=ids[0])
    finally:
        await database.dispose()
    body = await statistics(stack, owner)
    assert body["total_complaints"] == 6
    assert {c["key"]: c["complaints"] for c in table(body, "respondent_state")["cells"]} == {"GR": 6}
