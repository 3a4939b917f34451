"""Hypothesis strategies for hostile form data: junk of every JSON type, and junk in the shape of a schema.

What a browser, a script or an attacker can post once it is JSON-decoded: any nesting of
null/bool/number/string/list/object, with huge numbers, NaN, lone surrogates ("\\ud800" is
valid JSON), NUL bytes, direction marks, look-alike letters, and very long strings.
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

# No example database (nothing written into the project), no per-example deadline (the tests
# measure what matters themselves), and engine fixtures shared across examples on purpose.
FUZZ = settings(deadline=None, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])

NASTY_STRINGS = [
    "", " ", "\x00", "\ud800", "\udfff", "\u202e\u0430\u0431\u0432", "\u200b", "\ufeff", "𝕊𝕟𝕚𝕝𝕤",
    "Ивaнов",  # a Latin "a" among Cyrillic letters
    "11223344595", "112-233-445 95", "4510 123456", "770-001", "31.02.2026", "01.01.1800", "99.99.9999",
    "+7 (916) 123-45-67", "8(800)", "@", "a@b", "ivanova@example.ru", "../../etc/passwd", "<script>alert(1)</script>",
    "'; DROP TABLE instances; --", "{{7*7}}", "${jndi:ldap://127.0.0.1/a}", "%s%s%s%n", "NaN", "null", "true",
    "0" * 64, "1e309", "-0", "١٢٣", "٠١.٠١.٢٠٢٦",  # Arabic-Indic digits pass str.isdigit()
]
# Long inputs are where a pattern or checker could go quadratic: kept few, they cost time.
HUGE_STRINGS = ["1" * 1_000_000, "а" * 300_000, "11223344595" * 50_000, "Аа-" * 100_000 + "!", "a " * 200_000]

leaf_text = st.one_of(
    st.sampled_from(NASTY_STRINGS),
    st.text(max_size=40),
    st.text(st.characters(codec=None, exclude_categories=()), max_size=20),  # includes lone surrogates
)
leaf_numbers = st.one_of(
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0, -1, 2**63, -(2**63) - 1, 1e308, 5e-324]),
)
leaf = st.one_of(st.none(), st.booleans(), leaf_numbers, leaf_text)
junk: st.SearchStrategy[Any] = st.recursive(
    leaf,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.one_of(st.text(max_size=12), st.sampled_from(NASTY_STRINGS)), children, max_size=5),
    ),
    max_leaves=25,
)
huge = st.sampled_from(HUGE_STRINGS)


def _resolve(schema: Any, root: dict[str, Any]) -> Any:
    ref = schema.get("$ref") if isinstance(schema, dict) else None
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for part in ref[2:].split("/"):
            node = node.get(part, {}) if isinstance(node, dict) else {}
        return node
    return schema


def shaped(schema: Any, root: dict[str, Any] | None = None, depth: int = 0) -> st.SearchStrategy[Any]:
    """Data that follows the schema's field names and nesting, with junk or near-miss values in it."""
    root = root if root is not None else schema
    schema = _resolve(schema, root)
    if not isinstance(schema, dict) or depth > 5:
        return junk
    options: list[st.SearchStrategy[Any]] = [junk]
    properties = schema.get("properties")
    if isinstance(properties, dict) and properties:
        fields = {name: shaped(sub, root, depth + 1) for name, sub in properties.items()}
        options.append(st.fixed_dictionaries({}, optional=fields))
    items = schema.get("items")
    if isinstance(items, dict):
        options.append(st.lists(shaped(items, root, depth + 1), max_size=4))
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        options.append(st.sampled_from(schema["enum"]))
    if "const" in schema:
        options.append(st.just(schema["const"]))
    for branch in ("oneOf", "anyOf", "allOf"):
        if isinstance(schema.get(branch), list):
            options += [shaped(sub, root, depth + 1) for sub in schema[branch][:4]]
    return st.one_of(*options)


def form_data(schema: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Mostly schema-shaped objects, sometimes anything at all, now and then a huge string in a field."""
    names = list((schema.get("properties") or {}).keys()) or ["field"]
    with_huge = st.builds(lambda base, name, text: {**base, name: text} if isinstance(base, dict) else base,
                          shaped(schema), st.sampled_from(names), huge)
    return st.one_of(shaped(schema), shaped(schema), junk, with_huge)
