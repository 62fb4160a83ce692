"""``python -m comitas_intake.protection``: verify an institution's audit chain, or re-wrap complaint
keys after a master-key rotation. Reads the same settings as the service (``COMITAS_INTAKE_*``)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from comitas_shared.auth import institution_id_for_system
from comitas_shared.clock import real_now
from comitas_shared.db import Database

from ..settings import IntakeSettings
from . import service


async def _verify(settings: IntakeSettings, institution_id: str) -> int:
    database = Database(settings.database_url)
    try:
        async with database.transaction() as session:
            report = await service.verify(session, settings.keyring(), institution_id=institution_id_for_system(institution_id),
                                          checkpoint_dir=Path(settings.audit_checkpoint_dir))
    finally:
        await database.dispose()
    if report.ok:
        print(f"audit chain of {institution_id}: {report.entries} entries, intact")
        return 0
    print(f"audit chain of {institution_id}: NOT intact; first bad entry: {report.first_bad_seq}")
    for problem in report.problems:
        print(f"  - {problem}")
    return 1


async def _rewrap(settings: IntakeSettings) -> int:
    database = Database(settings.database_url)
    try:
        done = await service.rewrap_all(database, settings.keyring(), now=real_now())
    finally:
        await database.dispose()
    print(f"re-wrapped {done} complaint keys with master key {settings.keyring().current.key_id}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m comitas_intake.protection")
    commands = parser.add_subparsers(dest="command", required=True)
    verify = commands.add_parser("verify", help="check an institution's audit chain against its signed checkpoints")
    verify.add_argument("institution_id")
    commands.add_parser("rewrap", help="re-wrap every complaint key with the current master key")
    args = parser.parse_args(argv)
    settings = IntakeSettings()
    if args.command == "verify":
        return asyncio.run(_verify(settings, args.institution_id))
    return asyncio.run(_rewrap(settings))


if __name__ == "__main__":
    sys.exit(main())
