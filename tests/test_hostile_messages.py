"""Hostile identifiers in messages: the application number and message name come from requests.

`runtime.send_message` must answer MessageNotMatched (kept as unmatched) or ValidationFailed for
any string — NUL bytes, lone surrogates (valid in JSON as "\\ud800"), over-long values, SQL —
never a raw database or encoding error that becomes a 500.
"""

from __future__ import annotations

from engine.errors import MessageNotMatched, ValidationFailed

KEYS = {
    "sql": "ЗВ-2026-000001'; DROP TABLE instances; --",
    "nul": "ЗВ-2026-\x00000001",
    "surrogate": "ЗВ-\ud800",
    "long": "З" * 10_000,
    "empty": "",
    "rtl": "\u202e100000-6202-ВЗ",
}
NAMES = {"resubmit": "resubmit", "nul": "re\x00submit", "surrogate": "\udfff", "long": "m" * 1000}


def _refusal(medflow, key: str, name: str) -> str | None:
    """None when refused cleanly, else what went wrong."""
    try:
        medflow.runtime.send_message(NAMES[name], KEYS[key], {"note": "x"}, actor="api")
    except (MessageNotMatched, ValidationFailed) as refused:
        return None if refused.message else "refused without a message"
    except Exception as exc:  # the finding: a raw error that the API turns into a 500
        return f"{type(exc).__name__}: {str(exc)[:80]}"
    return "accepted"


CASES = [(key, name) for key in sorted(KEYS) for name in sorted(NAMES)]


def test_hostile_message_identifiers_are_refused_cleanly(medflow):
    # One engine for all the cases: each is a refusal that changes nothing but the unmatched log.
    failures = {f"{k}/{n}": _refusal(medflow, k, n) for k, n in CASES}
    assert {case: what for case, what in failures.items() if what} == {}


def test_hostile_payload_for_a_real_wait_is_delivered_intact(medflow):
    key = medflow.runtime.start("review_loop", {"applicant_name": "А"})["business_key"]
    (task,) = medflow.queries.tasks(business_key=key)
    medflow.runtime.complete(task["id"], {"decision": "fix"}, user="op")
    payload = {"\x00": "\ud800", "comment": "a\x00b", "deep": [[[[{"x": None}]]]], "n": 10**30}
    medflow.runtime.send_message("resubmit", key, payload, actor="applicant")
    data = medflow.queries.instance(key)["data"]
    assert data["comment"] == "a\x00b" and data["n"] == 10**30 and data["\x00"] == "\ud800"
