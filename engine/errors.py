"""Errors the engine reports to people and scripts: a Russian message, a stable code, and the
field or element concerned. Nothing has changed when one of these is raised."""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    code = "error"
    http_status = 400

    def __init__(self, message: str, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details

    def to_dict(self) -> dict[str, Any]:
        return {"error": self.code, "message": self.message, **self.details}


class NotFound(EngineError):
    code = "not_found"
    http_status = 404


class Conflict(EngineError):
    """Someone else changed the thing first: a task completed or claimed by another person."""

    code = "conflict"
    http_status = 409


class Busy(EngineError):
    """The application is being changed by another command that holds it longer than the lock
    timeout: nothing was changed, the same request may simply be sent again."""

    code = "busy"
    http_status = 503


class ValidationFailed(EngineError):
    code = "validation_failed"
    http_status = 422

    def __init__(self, message: str, errors: list[dict[str, str]]) -> None:
        super().__init__(message, errors=errors)
        self.errors = errors


class MessageNotMatched(EngineError):
    code = "message_not_matched"
    http_status = 404


class NotAllowed(EngineError):
    code = "not_allowed"
    http_status = 403


class StateUnreadable(EngineError):
    """The stored state of an instance cannot be read (damaged in the database): an operator's
    matter, not the caller's; the instance stays as it is until it is restored."""

    code = "state_unreadable"
    http_status = 500
