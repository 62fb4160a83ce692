"""``python -m comitas_intake.complaints seal-legacy``: seal the plaintext summaries of complaints
written before sealing existed (run once after upgrading; safe to run again, and while the service
runs). Reads the same settings as the service (``COMITAS_INTAKE_*``)."""

from __future__ import annotations

import argparse
import asyncio
import sys

from comitas_shared.clock import real_now
from comitas_shared.db import Database

from ..settings import IntakeSettings
from . import service


async def _seal_legacy(settings: IntakeSettings) -> int:
    database = Database(settings.database_url)
    try:
        done = await service.seal_legacy(database, settings.keyring(), now=real_now())
    finally:
        await database.dispose()
    print(f"sealed the summaries of {done} complaints written before sealing existed")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m comitas_intake.complaints")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("seal-legacy", help="seal the plaintext summaries of complaints written before sealing")
    parser.parse_args(argv)
    return asyncio.run(_seal_legacy(IntakeSettings()))


if __name__ == "__main__":
    sys.exit(main())
