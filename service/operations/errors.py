"""What an operation raises when it cannot do what it was asked: the status and the words.

The API turns these into JSON (`service.errors`: ``{"detail": ...}`` with `status_code`); the
console shows `message` on its error page or next to the form. Operations never build HTTP
responses themselves, so a route and a console page that call one report the same failure.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class OperationError(Exception):
    """The operation was refused; `detail` is what the API's JSON error carries."""

    status_code = 400

    def __init__(self, detail: str | list[dict[str, Any]]) -> None:
        super().__init__(detail)
        self.detail = detail

    @property
    def message(self) -> str:
        return str(self.detail)

    @property
    def reasons(self) -> list[str]:
        """What was wrong, as sentences: each problem's reason, or the one message."""
        if isinstance(self.detail, list):
            return [str(problem.get("msg")) for problem in self.detail]
        return [self.detail]


class NotFound(OperationError):
    """An id that names nothing (404)."""

    status_code = 404


class Conflict(OperationError):
    """The request is valid but the workspace's state does not allow it now (409)."""

    status_code = 409


class Invalid(OperationError):
    """Fields that break a rule the request schema cannot state (422), as (field, reason).

    `detail` has the API's 422 shape: ``[{"loc": ["body", field], "field": field, "msg":
    reason, "type": "value_error"}]`` (a problem of the whole body has field None).
    """

    status_code = 422

    def __init__(self, problems: Sequence[tuple[str | None, str]]) -> None:
        self.problems = list(problems)
        super().__init__(
            [
                {
                    "loc": ["body", *([field] if field else [])],
                    "field": field,
                    "msg": reason,
                    "type": "value_error",
                }
                for field, reason in self.problems
            ]
        )
