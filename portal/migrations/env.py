"""Alembic environment: runs on the connection portal-init hands over, or on the URL of a Pyramid ini file."""

from alembic import context
from sqlalchemy import engine_from_config, pool

from portal.models import Base, load_models

load_models()

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
        return
    ini = context.get_x_argument(as_dictionary=True).get("ini", "development.ini")
    from pyramid.paster import get_appsettings

    engine = engine_from_config(get_appsettings(ini), "sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()


run_migrations_online()
