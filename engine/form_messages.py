"""Russian messages for failed JSON Schema keywords, as a person filling a form reads them:
«Не меньше 3 символов», «Выберите одно из значений: …»; an analyst's own wording
(``x-error-message`` / ``errorMessage``) wins.
"""

from __future__ import annotations

import math
from typing import Any

_TYPE_NAMES = {
    "string": "строка", "integer": "целое число", "number": "число", "boolean": "да или нет",
    "object": "объект", "array": "список", "null": "пустое значение",
}  # fmt: skip

_STANDARD_FORMAT_MESSAGES = {
    "date": "Дата должна быть в формате ГГГГ-ММ-ДД",
    "date-time": "Дата и время должны быть в формате ГГГГ-ММ-ДДTчч:мм:сс",
    "time": "Время должно быть в формате чч:мм:сс",
    "uri": "Неверный адрес ссылки",
    "uuid": "Неверный идентификатор UUID",
    "regex": "Неверное регулярное выражение",
}


def _plural(n: Any, one: str, few: str, many: str) -> str:
    """Russian noun form after a number: 1 символа, 2 символов… (one/few/many)."""
    if not isinstance(n, int) or isinstance(n, bool):
        return many
    tail = abs(n) % 100
    if 11 <= tail <= 14:
        return many
    return {1: one, 2: few, 3: few, 4: few}.get(tail % 10, many)


def _show(value: Any) -> str:
    """A schema value as a person reads it: 5 not 5.0, «текст» in quotes, да/нет for booleans."""
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, float) and math.isfinite(value) and value.is_integer():
        return str(int(value))
    if value is None:
        return "пусто"
    text = str(value)
    return f"«{text[:60]}…»" if len(text) > 60 else (f"«{text}»" if isinstance(value, str) else text)


def _enum_labels(schema: dict[str, Any], allowed: Any) -> list[str]:
    values = list(allowed) if isinstance(allowed, list) else []
    # rjsf's enumNames and our x-enum-labels carry the words a person saw in the drop-down.
    for key in ("x-enum-labels", "enumNames", "x-enumNames"):
        labels = schema.get(key)
        if isinstance(labels, list) and len(labels) == len(values):
            return [str(label) for label in labels]
    return [_show(v) for v in values]


def custom_message(schema: dict[str, Any], keyword: str) -> str | None:
    for key in ("x-error-message", "errorMessage"):
        custom = schema.get(key)
        if isinstance(custom, dict) and isinstance(custom.get(keyword), str):
            return custom[keyword]
        # A bare string is the analyst's wording for a failed pattern or format on this field.
        if isinstance(custom, str) and keyword in ("pattern", "format"):
            return custom
    return None


# Keywords whose message is a fixed phrase followed by the schema's value.
_VALUE_PHRASES = {
    "minimum": "Значение должно быть не меньше",
    "maximum": "Значение должно быть не больше",
    "exclusiveMinimum": "Значение должно быть больше",
    "exclusiveMaximum": "Значение должно быть меньше",
    "multipleOf": "Значение должно быть кратно",
}
# Keywords whose value is a count: phrase and the noun's forms for 1 / 2-4 / 5+ (genitive after "не").
_COUNT_PHRASES = {
    "minLength": ("Не меньше", ("символа", "символов", "символов")),
    "maxLength": ("Не больше", ("символа", "символов", "символов")),
    "minItems": ("Нужно не меньше", ("элемента", "элементов", "элементов")),
    "maxItems": ("Допускается не больше", ("элемента", "элементов", "элементов")),
    "minProperties": ("Нужно заполнить не меньше", ("поля", "полей", "полей")),
    "maxProperties": ("Допускается не больше", ("поля", "полей", "полей")),
}
_FIXED_PHRASES = {
    "required": "Обязательное поле",
    "pattern": "Значение не соответствует требуемому формату",
    "uniqueItems": "Элементы списка не должны повторяться",
    "contains": "В списке не хватает подходящих элементов",
    "minContains": "В списке не хватает подходящих элементов",
    "maxContains": "В списке слишком много подходящих элементов",
    "items": "Лишние элементы списка не допускаются",
    "unevaluatedItems": "Лишние элементы списка не допускаются",
    "oneOf": "Значение подходит сразу под несколько вариантов; уточните его",
    "false": "Это поле не допускается",
}


def message_for(keyword: str, schema: dict[str, Any], value: Any) -> str:
    """The Russian message for a failed ``keyword`` whose schema value is ``value``."""
    custom = custom_message(schema, keyword)
    if custom is not None:
        return custom
    if keyword in _FIXED_PHRASES:
        return _FIXED_PHRASES[keyword]
    if keyword in _VALUE_PHRASES:
        return f"{_VALUE_PHRASES[keyword]} {_show(value)}"
    if keyword in _COUNT_PHRASES:
        if keyword == "minLength" and value == 1:
            return "Поле не может быть пустым"
        phrase, forms = _COUNT_PHRASES[keyword]
        return f"{phrase} {_show(value)} {_plural(value, *forms)}"
    if keyword == "dependentRequired":
        return f"Обязательное поле, если заполнено поле «{value}»"
    if keyword in ("additionalProperties", "unevaluatedProperties"):
        return f"Лишнее поле «{value}» не допускается"
    if keyword == "type":
        names = value if isinstance(value, list) else [value]
        return "Неверный тип значения: ожидается " + " или ".join(_TYPE_NAMES.get(str(n), str(n)) for n in names)
    if keyword == "enum":
        labels = _enum_labels(schema, value)
        return "Выберите одно из значений: " + ", ".join(labels[:15]) + (", …" if len(labels) > 15 else "")
    if keyword == "const":
        return "Необходимо отметить это поле" if value is True else f"Значение должно быть {_show(value)}"
    if keyword == "format":
        return _STANDARD_FORMAT_MESSAGES.get(str(value), f"Неверный формат значения ({value})")
    return "Недопустимое значение"
