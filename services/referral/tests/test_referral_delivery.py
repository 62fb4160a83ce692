"""Issue 10, acceptance 8 (the events' side): a transition committed while nothing publishes (the relay
stopped, as if the process died between the commit and the publish) is published once the relay runs
again; NATS restarted mid-journey loses nothing; and no event reaches a side twice."""

from __future__ import annotations

import asyncio
from collections import Counter

from referral_testkit import (
    RECIPIENT_PROFILE,
    Receiver,
    act,
    close_parties,
    complaint,
    consent,
    new_party,
    refer,
    subscribe,
)
from sqlalchemy import text

from comitas_shared.db import Database
from comitas_shared.testing import eventually


async def unpublished(referral) -> int:
    database = Database(referral.database_url)
    try:
        async with database.transaction() as session:
            return int((await session.execute(text("SELECT count(*) FROM outbox WHERE published_at IS NULL")))
                       .scalar_one())
    finally:
        await database.dispose()


async def test_nothing_is_lost_or_doubled_across_a_stopped_relay_and_a_nats_restart(stack, referral):
    a = await new_party(stack, referral, "Sender", country="FR")
    b = await new_party(stack, referral, "Recipient", country="IT", profile=RECIPIENT_PROFILE)
    a_hook, b_hook = Receiver(), Receiver()
    for hook in (a_hook, b_hook):
        await hook.served.start()
    relay = referral.app.state.platform.relay
    try:
        await subscribe(stack, a, a_hook)
        await subscribe(stack, b, b_hook)
        complaint_id = await complaint(a)
        await consent(a, complaint_id, b.id, purposes=["investigate"], categories=["identity", "narrative"])
        rid = (await refer(a, complaint_id, b))["id"]
        await eventually(lambda: "comitas.referral.sent" in b_hook.types(rid), timeout=30)

        # The process "dies" after the commit: nothing publishes, the row waits in the outbox.
        await relay.stop()
        await act(b, rid, "acknowledge")
        assert await unpublished(referral) >= 1
        await asyncio.sleep(1)
        assert "comitas.referral.acknowledged" not in a_hook.types(rid)
        relay.start()
        await eventually(lambda: "comitas.referral.acknowledged" in a_hook.types(rid), timeout=30)

        # NATS restarts mid-journey: what is committed meanwhile is published once it is back.
        stack.nats.stop()
        try:
            await act(b, rid, "accept")
        finally:
            stack.nats.start()
        for hook in (a_hook, b_hook):
            await eventually(lambda hook=hook: "comitas.referral.accepted" in hook.types(rid), timeout=60)
        for hook in (a_hook, b_hook):
            ids = Counter(e["id"] for e in hook.received if e.get("subject") == rid)
            assert all(n == 1 for n in ids.values()), ids
            assert sorted(set(hook.types(rid))) == ["comitas.referral.accepted", "comitas.referral.acknowledged",
                                                    "comitas.referral.sent"]
    finally:
        if not relay.running:
            relay.start()
        for hook in (a_hook, b_hook):
            await hook.served.stop()
        await close_parties(a, b)
