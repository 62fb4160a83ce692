"""The migrations build exactly the tables the models describe, on SQLite and on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

from identity_testkit import Identity

from comitas_identity.models import load_all_models, metadata
from comitas_shared import migrations
from comitas_shared.testing import drop_database, fresh_database_url

load_all_models()


async def test_models_and_migrations_agree(identity: Identity) -> None:
    assert migrations.differences("comitas_identity", identity.database_url, metadata) == []


def test_migrations_go_down_and_up_again(tmp_path: Path) -> None:
    url = fresh_database_url("identity_roundtrip", tmp_path)
    try:
        migrations.upgrade("comitas_identity", url)
        migrations.downgrade("comitas_identity", url, "base")
        migrations.upgrade("comitas_identity", url)
        assert migrations.differences("comitas_identity", url, metadata) == []
    finally:
        drop_database(url)


def test_migration_files_are_named_by_date_and_slug() -> None:
    import re

    import comitas_identity

    versions = Path(comitas_identity.__file__).parent / "migrations" / "versions"
    names = sorted(p.name for p in versions.glob("*.py"))
    assert names and all(re.fullmatch(r"\d{8}_\d{4}_[a-z0-9_]+\.py", n) for n in names)
