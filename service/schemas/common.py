"""Constrained types shared by the resource schemas, from the engine's declared patterns."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, Field, StringConstraints

from features.schema import ID_PATTERN, SLUG_PATTERN

Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
"""An identifier: 1-64 letters, digits, '_', '.', ':', '-' (starting with a letter or digit)."""

Slug = Annotated[str, StringConstraints(pattern=SLUG_PATTERN)]
"""An industry, product, region or competitor: a lowercase slug."""

# JSON types are taken as the OpenAPI document states them. Pydantic's lax mode would read
# `true` as the number 1, "5" as an integer, 1 or "yes" as a boolean and a number as Unix time:
# a client's mistake would pass silently (and schemathesis' negative tests failed by chance).
# Numbers, integers and booleans of request bodies are declared `Field(strict=True)`; dates
# and times, strings in JSON, refuse numbers with `IsoText`.


def _not_a_number(value: Any) -> Any:
    if isinstance(value, (int, float)):  # bool is an int too
        raise ValueError("must be an ISO 8601 string, not a number")
    return value


IsoText = BeforeValidator(_not_a_number)
"""A date or time in a request: an ISO 8601 string (or a date/datetime object from Python)."""


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = BeforeValidator(_integral)
"""A strict integer that also takes a float with no fraction (13.0): JSON Schema's `integer`
is any number whose fraction is zero, and clients generated from the document may send it."""

# the same range as the pattern, which states it in the OpenAPI document (a date's bounds
# would not appear there)
_DAY_PATTERN = r"^(199[0-9]|20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"
Day = Annotated[
    date,
    Field(ge=date(1990, 1, 1), le=date(2100, 12, 31), json_schema_extra={"pattern": _DAY_PATTERN}),
    IsoText,
]
"""A calendar date between 1990 and 2100 (the catalog's accepted range), as ISO 8601 text."""

MAX_LIST = 50


class ErrorPublic(BaseModel):
    """Every error that is not a validation error: what went wrong, in words."""

    detail: str


class FieldError(BaseModel):
    """One invalid field: where (`loc`, `field`), why (`msg`, `type`), and what is allowed."""

    loc: list[str | int]
    field: str | None = None
    msg: str
    type: str
    allowed: list[str] | None = Field(default=None, description="the values the field takes")
    input: Any = None


class ValidationErrorPublic(BaseModel):
    detail: list[FieldError]


API_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorPublic, "description": "the body is not valid JSON or not UTF-8"},
    401: {"model": ErrorPublic, "description": "no valid API key"},
    403: {"model": ErrorPublic, "description": "the key's scope does not allow this"},
    413: {"model": ErrorPublic, "description": "the body is over the configured limit"},
    422: {"model": ValidationErrorPublic, "description": "a field is invalid"},
    429: {"model": ErrorPublic, "description": "rate limit exceeded; see Retry-After"},
}
"""Responses every /v1 operation may give, for the OpenAPI document."""
