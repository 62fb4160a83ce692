"""Alembic per service, driven from code.

Each service keeps its migrations in ``<package>/migrations/`` (an ``env.py`` that calls
:func:`run_env` and ``versions/`` named ``YYYYMMDD_HHMM_<slug>.py``). Migrations run with the sync
driver of the same database (aiosqlite → sqlite, asyncpg → psycopg).
"""

from __future__ import annotations

import argparse
import importlib
from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, create_engine, pool


def sync_url(url: str) -> str:
    return (url.replace("sqlite+aiosqlite", "sqlite")
               .replace("postgresql+asyncpg", "postgresql+psycopg"))


def alembic_config(package: str, url: str) -> Config:
    module = importlib.import_module(package)
    if module.__file__ is None:
        raise ValueError(f"{package} is not a package on disk")
    directory = Path(module.__file__).parent / "migrations"
    config = Config()
    config.set_main_option("script_location", str(directory))
    config.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    config.set_main_option("file_template", "%%(year)d%%(month).2d%%(day).2d_%%(hour).2d%%(minute).2d_%%(slug)s")
    config.attributes["package"] = package
    return config


def upgrade(package: str, url: str, revision: str = "head") -> None:
    _ensure_sqlite_dir(url)
    command.upgrade(alembic_config(package, url), revision)


def downgrade(package: str, url: str, revision: str) -> None:
    command.downgrade(alembic_config(package, url), revision)


def revision(package: str, url: str, message: str) -> None:
    command.revision(alembic_config(package, url), message=message, autogenerate=True)


def differences(package: str, url: str, metadata: MetaData) -> list[Any]:
    """What autogenerate would add to bring the migrated database to the models (empty when they agree)."""
    engine = create_engine(sync_url(url), poolclass=pool.NullPool)
    try:
        with engine.connect() as connection:
            context = MigrationContext.configure(connection, opts={"compare_type": True})
            return [d for d in compare_metadata(context, metadata) if not _ignorable(d)]
    finally:
        engine.dispose()


def _ignorable(diff: Any) -> bool:
    return False


def _ensure_sqlite_dir(url: str) -> None:
    if url.startswith("sqlite") and ":///" in url:
        path = url.split(":///", 1)[1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)


def _render_item(type_: str, obj: Any, autogen_context: Any) -> str | bool:
    """Migrations name plain SQLAlchemy types, never application classes, so old migrations keep
    working whatever happens to the code: a TypeDecorator is rendered as its underlying type."""
    from sqlalchemy.types import TypeDecorator

    if type_ == "type" and isinstance(obj, TypeDecorator):
        impl = obj.impl_instance if hasattr(obj, "impl_instance") else obj.impl
        return f"sa.{impl!r}"
    return False


def run_env(context: Any, target_metadata: MetaData) -> None:
    """Body of each service's ``env.py``."""
    config = context.config
    url = config.get_main_option("sqlalchemy.url")
    if context.is_offline_mode():
        context.configure(url=url, target_metadata=target_metadata, literal_binds=True, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=target_metadata, compare_type=True,
                          render_as_batch=url.startswith("sqlite"), render_item=_render_item)
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description="Run a service's migrations")
    parser.add_argument("package", help="e.g. comitas_intake")
    parser.add_argument("action", choices=["upgrade", "revision"])
    parser.add_argument("--url", required=True)
    parser.add_argument("-m", "--message", default="change")
    args = parser.parse_args()
    if args.action == "upgrade":
        upgrade(args.package, args.url)
    else:
        revision(args.package, args.url, args.message)


if __name__ == "__main__":
    main()
