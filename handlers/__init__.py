"""Service-task handlers. Importing this package registers every handler by name.

``setup(medflow)`` connects them to a built engine (settings, database, the step's session,
status notices); see :mod:`handlers.installation`.
"""

from handlers import (  # noqa: F401  (imported for their @handler registrations)
    accreditation,
    certificates,
    documents,
    identifiers,
    notifications,
    payments,
    refusals,
    registries,
    renewals,
    support,
)
from handlers.installation import create_handler_tables, seed_demo, setup

__all__ = ["create_handler_tables", "seed_demo", "setup"]
