"""cancel_and_wait stops a task that loses its first cancellation (Python 3.11's wait_for, gh-86296)."""

from __future__ import annotations

import asyncio

import pytest

from comitas_shared import tasks


async def test_a_task_that_swallows_its_first_cancel_is_cancelled_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "RECANCEL_SECONDS", 0.1)
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(3600)
            except asyncio.CancelledError:
                swallowed += 1
                if swallowed > 1:
                    raise

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(tasks.cancel_and_wait(task), timeout=10)
    assert task.cancelled() and swallowed == 2


async def test_what_a_task_raises_while_unwinding_reaches_the_caller() -> None:
    async def failing() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            raise RuntimeError("while unwinding")

    task = asyncio.create_task(failing())
    await asyncio.sleep(0)
    with pytest.raises(RuntimeError, match="while unwinding"):
        await tasks.cancel_and_wait(task)
    await tasks.cancel_and_wait(None)
