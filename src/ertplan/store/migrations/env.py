"""Alembic's environment: runs migrations on the engine ertplan hands it (see store.db.upgrade)."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from ertplan.store.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    """Migrate on the engine put in the config's attributes by :func:`ertplan.store.db.upgrade`."""
    engine: Engine | None = config.attributes.get("engine")
    if engine is None:
        from ertplan.store.db import make_engine

        url = config.get_main_option("sqlalchemy.url")
        if not url:
            raise RuntimeError("give ertplan's migrations an engine or a sqlalchemy.url")
        engine = make_engine(url)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
        connection.commit()


run_migrations_online()
