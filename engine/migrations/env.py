"""Alembic environment: migrations run on the connection MedFlow hands over."""

import contextlib
import importlib

from alembic import context
from sqlalchemy import create_engine

from engine.models import Base

# Every module that declares tables on Base, so autogenerate and the metadata see them all.
for _module in ("handlers.registry_models", "handlers.service_models", "engine.account_models"):
    with contextlib.suppress(ModuleNotFoundError):
        importlib.import_module(_module)

config = context.config
target_metadata = Base.metadata

connection = config.attributes.get("connection")
if connection is None:
    # `alembic revision --autogenerate` from the command line: use sqlalchemy.url.
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    with engine.connect() as conn:
        context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
