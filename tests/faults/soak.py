"""Long tests run only when asked for: `pytest -m soak` (the `make soak` target).

They carry ``@pytest.mark.soak`` so `make test` can deselect them with ``-m "not soak"``; until
that marker is registered they also skip themselves unless the mark expression names ``soak``.
"""

from __future__ import annotations

import pytest


def require_soak(request: pytest.FixtureRequest) -> None:
    if "soak" not in (request.config.getoption("markexpr") or ""):
        pytest.skip("soak test: run with `pytest -m soak`")
