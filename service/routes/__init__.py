"""One router per resource; `service.app` includes them all. They share one route class.

`ApiRoute` refuses a single-valued query parameter that is given more than once
(`?q=a&q=b`) with a 422 naming it, before anything else looks at the request: FastAPI would
silently take the last value, and a client that repeats a parameter meant something the API
would not do (a list where the API takes one value). Parameters declared as lists (`type`
of GET /v1/assets) may repeat, as the OpenAPI document says.
"""

from __future__ import annotations

import types
from collections.abc import Iterator
from functools import cached_property
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.datastructures import QueryParams
from starlette.types import Receive, Scope, Send

_SEQUENCES = (list, tuple, set, frozenset)


def _takes_many(annotation: Any) -> bool:
    """Whether a query parameter of this annotation takes repeated values (a list, a set...)."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _takes_many(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return any(_takes_many(a) for a in get_args(annotation) if a is not type(None))
    return origin in _SEQUENCES or annotation in _SEQUENCES


def _query_params(dependant: Dependant) -> Iterator[Any]:
    """The query parameters of an endpoint and of every dependency it has."""
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _query_params(sub)


class ApiRoute(APIRoute):
    """An API route that answers 422 to a repeated single-valued query parameter."""

    @cached_property
    def single_valued_query(self) -> frozenset[str]:
        """The names (aliases) of the query parameters that take one value."""
        return frozenset(
            p.alias
            for p in _query_params(self.dependant)
            if not _takes_many(p.field_info.annotation)
        )

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        method_allowed = not self.methods or scope.get("method") in self.methods
        if method_allowed and scope.get("query_string") and self.single_valued_query:
            given = QueryParams(scope["query_string"])
            repeated = [
                name for name in sorted(self.single_valued_query) if len(given.getlist(name)) > 1
            ]
            if repeated:
                raise RequestValidationError(
                    [
                        {
                            "loc": ("query", name),
                            "msg": f"query parameter {name!r} is given "
                            f"{len(given.getlist(name))} times; it takes one value",
                            "type": "repeated_parameter",
                        }
                        for name in repeated
                    ]
                )
        await super().handle(scope, receive, send)
