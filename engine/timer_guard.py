"""Timer expressions that evaluate to something that is not a time become incidents.

SpiffWorkflow evaluates a timer's expression inside ``has_fired``/``cycle_complete`` and lets a
ValueError or AttributeError escape without naming the task (None, 1, 'завтра', a ДД.ММ.ГГГГ
date from a form). Without a task the stepper cannot open an incident and the whole command
would fail for good; wrapped, the timer event becomes an incident an operator can see and retry.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from SpiffWorkflow.bpmn.exceptions import WorkflowTaskException
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    CycleTimerEventDefinition,
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
)
from SpiffWorkflow.exceptions import SpiffWorkflowException


def _naming_the_task(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    def wrapper(self: Any, my_task: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, my_task, *args, **kwargs)
        except SpiffWorkflowException:
            raise
        except Exception as exc:
            raise WorkflowTaskException(
                f"выражение таймера «{self.expression}» не дало дату или длительность: {type(exc).__name__}: {exc}",
                task=my_task, exception=exc,
            ) from exc

    wrapper._medflow_guarded = True  # type: ignore[attr-defined]
    return wrapper


def install() -> None:
    for cls, name in ((TimeDateEventDefinition, "has_fired"), (DurationTimerEventDefinition, "has_fired"),
                      (CycleTimerEventDefinition, "cycle_complete")):
        method = getattr(cls, name)
        if not getattr(method, "_medflow_guarded", False):
            setattr(cls, name, _naming_the_task(method))


install()
