"""Personal data shown only as far as the viewer needs it (152-ФЗ): identifiers in monitoring views
keep their last digits, enough to tell two applications apart, not to reuse the number."""

from __future__ import annotations

import re
from typing import Any

# Field names (in any nesting) whose values are identity documents or numbers.
SENSITIVE_KEYS = {"snils", "inn", "oms", "passport", "passport_unit_code", "passport_number", "passport_series"}
_DIGIT = re.compile(r"\d")


def mask_value(value: Any, keep: int = 2) -> Any:
    """Every digit but the last ``keep`` replaced: "11223344595" → "*********95"."""
    if not isinstance(value, str | int):
        return value
    text = str(value)
    digits = [m.start() for m in _DIGIT.finditer(text)]
    hidden = set(digits[:-keep] if keep else digits)
    return "".join("*" if i in hidden else ch for i, ch in enumerate(text))


def mask_personal(data: Any) -> Any:
    """A copy of ``data`` with the values of sensitive keys masked, however deep."""
    if isinstance(data, dict):
        return {k: mask_value(v) if str(k).lower() in SENSITIVE_KEYS and not isinstance(v, dict | list)
                else mask_personal(v) for k, v in data.items()}
    if isinstance(data, list):
        return [mask_personal(item) for item in data]
    return data
