"""The checkpoint pass, every few minutes in every replica (two replicas writing the same head is
harmless: the second finds the checkpoint already there, or writes an equal one)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from comitas_shared import randomness
from comitas_shared.clock import Clock
from comitas_shared.db import Database

from . import service
from .crypto import KeyRing

log = logging.getLogger(__name__)


async def checkpoint_forever(database: Database, keyring: KeyRing, directory: Path, *, every: float,
                             clock: Clock) -> None:
    while True:
        await asyncio.sleep(every * randomness.uniform(0.8, 1.2))
        try:
            written = await service.write_checkpoints(database, keyring, directory, now=clock())
            if written:
                log.info("audit: %s checkpoints written", written)
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - the next pass tries again
            log.exception("audit: checkpoint pass failed")
