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


async def test_a_stuck_shutdown_step_is_left_behind_and_the_next_steps_still_run(
        caplog: pytest.LogCaptureFixture) -> None:
    """The hang seen once in the fault suite: one step never returning must not hold the process past the
    orchestrator's grace. Here a step that swallows every cancel, one that fails, and two that work."""
    ran: list[str] = []
    release = asyncio.Event()

    async def deaf() -> None:
        while not release.is_set():
            try:
                await release.wait()
            except asyncio.CancelledError:
                ran.append("deaf swallowed a cancel")

    async def failing() -> None:
        raise RuntimeError("broken")

    async def works(name: str) -> None:
        ran.append(name)

    loop = asyncio.get_running_loop()
    started = loop.time()
    abandoned = await tasks.run_shutdown([
        ("first", lambda: works("first")), ("deaf", deaf), ("failing", failing), ("last", lambda: works("last")),
    ], budget=0.5)
    elapsed = loop.time() - started
    assert abandoned == ["deaf"]
    assert ran[0] == "first" and "last" in ran
    assert elapsed < 0.5 + 2 * tasks.LAST_CHANCE_SECONDS + 1
    assert "deaf did not finish in time" in caplog.text and "failing failed (broken)" in caplog.text
    release.set()  # the step left behind ends, or the test's event loop would wait for it
    await asyncio.sleep(0.05)
