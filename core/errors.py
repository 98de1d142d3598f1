"""Errors every part raises; the CLI and the API map them to exit codes and HTTP statuses.

CLI: BadInput -> exit 2 (one line on stderr). API: status_code below, in the common error shape
`{"error": {"code", "message", "details"}}`.
"""

from __future__ import annotations

from typing import Any


class SkyPatrolError(Exception):
    """Base of every error the product reports to a user."""

    status_code = 500
    code = "internal_error"
    exit_code = 1

    def __init__(self, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class BadInput(SkyPatrolError):
    """The input is malformed or makes no sense (a file, a parameter, a request body)."""

    status_code = 422
    code = "bad_input"
    exit_code = 2


class NotFound(SkyPatrolError):
    status_code = 404
    code = "not_found"
    exit_code = 2


class Conflict(SkyPatrolError):
    status_code = 409
    code = "conflict"
    exit_code = 1


class Refused(SkyPatrolError):
    """A well-formed request that the system (or a vehicle, or the authority) declines."""

    status_code = 409
    code = "refused"
    exit_code = 1


class Unavailable(SkyPatrolError):
    """A required external service (database, broker, hub, vehicle link) cannot be reached."""

    status_code = 503
    code = "unavailable"
    exit_code = 1
