"""Each service's models and migrations agree, on SQLite and (with DATABASE_URL) on PostgreSQL:
a model changed without a migration fails here."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from comitas_shared import migrations
from comitas_shared.testing import drop_database, fresh_database_url

# Every service folder under services/ that has a package: a new service is checked without a list.
SERVICES = sorted(f"comitas_{p.name}" for p in (Path(__file__).resolve().parent.parent / "services").iterdir()
                  if (p / f"comitas_{p.name}" / "migrations").is_dir())


def service_metadata(package: str):
    models = importlib.import_module(f"{package}.models")
    if hasattr(models, "load_all_models"):
        models.load_all_models()
    return models.metadata


@pytest.mark.parametrize("package", SERVICES)
def test_models_and_migrations_agree(package, tmp_path):
    url = fresh_database_url(package.removeprefix("comitas_"), tmp_path)
    try:
        migrations.upgrade(package, url)
        assert migrations.differences(package, url, service_metadata(package)) == []
        # Migrations also go down cleanly, and up again.
        migrations.downgrade(package, url, "base")
        migrations.upgrade(package, url)
    finally:
        drop_database(url)
