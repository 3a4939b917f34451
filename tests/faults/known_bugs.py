"""Engine bugs these tests found and that are not fixed yet, in one place.

A test that meets one calls :func:`expect_bug`: strict where the failure is deterministic (the
test then fails loudly once the fix lands, so the marker is removed with the fix), not strict for
races that a given run may not hit. Delete an entry together with its engine fix.
"""

from __future__ import annotations

import pytest


def expect_bug(request: pytest.FixtureRequest, reason: str, when: bool = True, strict: bool = True) -> None:
    if when:
        request.applymarker(pytest.mark.xfail(strict=strict, reason=reason))
