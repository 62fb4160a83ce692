"""Background tasks that stop cleanly."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger(__name__)

# Python 3.11's asyncio.wait_for can lose a cancellation that arrives as the awaited thing completes (the
# task goes on with the result, gh-86296): a `while True` loop then never stops, and neither does the
# shutdown waiting for it. A task still running this long after its cancel is cancelled again.
RECANCEL_SECONDS = 5.0


async def cancel_and_wait(task: asyncio.Task[Any] | None) -> None:
    """Cancel ``task`` and wait until it has finished unwinding (its ``finally`` blocks have run)."""
    if task is None:
        return
    task.cancel()
    while not task.done():
        # asyncio.wait, unlike awaiting the task, lets a cancellation of the caller through.
        await asyncio.wait({task}, timeout=RECANCEL_SECONDS)
        if not task.done():
            log.warning("task %s still running %s s after it was cancelled; cancelling it again",
                        task.get_name(), RECANCEL_SECONDS)
            task.cancel()
    if not task.cancelled():
        task.result()  # what it raised while unwinding, as awaiting it would
