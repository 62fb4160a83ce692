"""A replica told to stop (SIGTERM) first says so on ``/readyz``, keeps serving, then stops (ADR 0042).

A load balancer notices that a replica is gone only through its health checks: HAProxy after ``fall``
failed checks ``inter`` apart, Kubernetes when the endpoint is removed. uvicorn, on SIGTERM, closes its
listening socket at once, so requests routed to the replica in that window fail. Here the first SIGTERM
only sets the replica *draining*: ``/readyz`` answers 503 while every other request is served as
before, for ``drain_seconds`` (long enough for the balancer to take the replica out); then uvicorn's own
shutdown runs (listener closed, in-flight requests finished, lifespan shutdown). A second SIGTERM or a
SIGINT during the drain exits at once. A SIGINT first (Ctrl-C at a terminal: no balancer to tell) and a
``drain_seconds`` of 0 shut down without draining.

How, without touching uvicorn's private state: uvicorn 0.54 installs ``Server.handle_exit`` with
``signal.signal`` for SIGINT and SIGTERM around ``Server.serve`` (``capture_signals``), before the
lifespan starts. The lifespan then finds that handler, and so the server, and puts :meth:`Drain.handle`
in its place; the server is stopped through its public ``should_exit`` and ``force_exit`` flags (as an
embedding program does). uvicorn puts its own original handlers back when ``serve`` returns (so they stay
this module's through the shutdown, where one more signal forces the exit). The signal
is not handed to ``handle_exit``, which would raise it again once the server has stopped: a drained
replica exits 0, as an orderly stop should. Where the app is not served by a uvicorn ``Server`` that
captured the signals (tests' in-process servers, another server), nothing is taken over.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from types import FrameType

import uvicorn

log = logging.getLogger(__name__)

TAKEN_OVER = (signal.SIGTERM, signal.SIGINT)


class Drain:
    """This process's way out: ``draining`` from the first SIGTERM until the server stops."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.draining = False
        self.since: float | None = None
        self._server: uvicorn.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: asyncio.TimerHandle | None = None

    @property
    def remaining(self) -> float:
        if self.since is None:
            return self.seconds
        return max(0.0, self.seconds - (time.monotonic() - self.since))

    def take_over_signals(self) -> bool:
        """Called from the lifespan's start-up, in the main thread: replaces uvicorn's SIGTERM and SIGINT
        handlers with :meth:`handle` when they are a ``uvicorn.Server``'s. True when it did."""
        if threading.current_thread() is not threading.main_thread():
            return False  # signals are the main thread's; uvicorn did not capture them either
        server = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
        if not isinstance(server, uvicorn.Server):
            return False
        self._server = server
        self._loop = asyncio.get_running_loop()
        for signum in TAKEN_OVER:
            signal.signal(signum, self.handle)
        return True

    def handle(self, signum: int, _frame: FrameType | None) -> None:
        server = self._server
        if server is None:
            return
        if server.should_exit:
            # Already stopping (the drain is over, or Ctrl-C came first): one more signal, no more waiting.
            server.force_exit = True
        elif self.draining:
            log.warning("%s while draining: exiting now", signal.Signals(signum).name)
            self._cancel_timer()
            server.should_exit = True
            server.force_exit = True
        elif signum == signal.SIGTERM and self.seconds > 0:
            self.draining = True
            self.since = time.monotonic()
            log.warning("SIGTERM: /readyz answers 503 for %g s while requests are still served, then stopping",
                        self.seconds)
            assert self._loop is not None
            # Python runs this handler between two bytecodes of the loop's thread: the timer is set from
            # the loop itself, which call_soon_threadsafe also wakes.
            self._loop.call_soon_threadsafe(self._start_timer)
        else:
            server.should_exit = True

    def _start_timer(self) -> None:
        if self.draining and self._loop is not None and self._server is not None and not self._server.should_exit:
            self._timer = self._loop.call_later(self.remaining, self._stop)

    def _stop(self) -> None:
        log.warning("drained for %g s: stopping (in-flight requests finish, then the lifespan ends)", self.seconds)
        if self._server is not None:
            self._server.should_exit = True

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
