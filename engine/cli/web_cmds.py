"""Web-related commands (filled by the web issue)."""

from __future__ import annotations

import click


def register(cli: click.Group) -> None:
    """Add the web issue's commands (e.g. `medflow demo seed`) to the main group."""
