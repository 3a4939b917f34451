"""What diagram expressions and scripts may contain.

The restricted builtins alone do not make a sandbox: attribute access reaches the real ones
(``().__class__.__bases__[0].__subclasses__()``, ``working_days.__func__.__globals__``). So a
text is refused before it runs when it names anything private or dunder, touches frame or code
objects, or imports. Lint applies this at deploy time; the script engine again before every
eval/exec, so bundles deployed earlier are covered too.
"""

from __future__ import annotations

import ast
from functools import lru_cache

_FRAME_ATTRIBUTES = {
    "gi_frame", "gi_code", "gi_yieldfrom", "cr_frame", "cr_code", "cr_await", "ag_frame", "ag_code",
    "f_globals", "f_locals", "f_builtins", "f_back", "f_code", "tb_frame", "tb_next", "co_code", "func_globals",
    "mro", "format_map",
}  # fmt: skip
_FORBIDDEN_NAMES = {"eval", "exec", "compile", "open", "globals", "locals", "vars", "getattr", "setattr",
                    "delattr", "breakpoint", "input", "help", "memoryview", "type", "super", "object"}


class UnsafeExpression(ValueError):
    """The text uses something expressions may not use; the message says what, in Russian."""


@lru_cache(maxsize=4096)
def problem(text: str, mode: str = "eval") -> str | None:
    """A Russian description of the first forbidden construct, or None when the text is allowed."""
    try:
        tree = ast.parse(text.lstrip(" \t") if mode == "eval" else text, mode=mode)
    except SyntaxError:
        return None  # compiling reports syntax errors with their own message
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            return "импорт модулей в выражениях и скриптах запрещён"
        if isinstance(node, ast.ExceptHandler) and node.type is None:
            # It would catch the stop of a script that ran out of time (engine.script_budget).
            return "«except:» без типа исключения запрещён: укажите тип, например «except ValueError:»"
        if isinstance(node, ast.Attribute) and (node.attr.startswith("_") or node.attr in _FRAME_ATTRIBUTES):
            return f"обращение к служебному атрибуту «{node.attr}» запрещено"
        if isinstance(node, ast.Name) and (node.id.startswith("__") or node.id in _FORBIDDEN_NAMES):
            return f"имя «{node.id}» недоступно в выражениях и скриптах"
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value.startswith("__"):
            return "строки, начинающиеся с «__», запрещены (обход ограничений через имена атрибутов)"
    return None


def check(text: str, mode: str = "eval") -> None:
    found = problem(text, mode)
    if found is not None:
        raise UnsafeExpression(found)
