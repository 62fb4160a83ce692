"""Background tasks that stop cleanly."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
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


Step = tuple[str, Callable[[], Awaitable[Any]]]

# The orchestrators' grace before SIGKILL is 40 s (compose, Kubernetes, run-cluster), and draining takes
# the first 5: the shutdown that follows gets the rest, less a margin.
SHUTDOWN_SECONDS = 30.0
# A step reached after the budget is spent still gets this long (the database pool's dispose, say).
LAST_CHANCE_SECONDS = 1.0


async def run_shutdown(steps: Sequence[Step], *, budget: float | None = None) -> list[str]:
    """Runs ``steps`` in order, within ``budget`` seconds in all (``SHUTDOWN_SECONDS`` by default). A step
    that fails is logged and the next one runs; a step still running when its share of the budget is out
    is cancelled and left behind, named in the log, so one stuck step (a NATS drain on a dead socket, a
    task that lost its cancellation) cannot hold the process past its grace. Returns the steps left
    behind."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + (SHUTDOWN_SECONDS if budget is None else budget)
    abandoned = []
    for name, step in steps:
        task = asyncio.ensure_future(step())
        done, _ = await asyncio.wait({task}, timeout=max(LAST_CHANCE_SECONDS, deadline - loop.time()))
        if not done:
            task.cancel()
            abandoned.append(name)
            log.warning("shutdown: %s did not finish in time; going on without it", name)
        elif not task.cancelled() and task.exception() is not None:
            log.warning("shutdown: %s failed (%s)", name, task.exception())
    return abandoned
