"""Days in query strings are ISO days (``2025-06-30``), nothing else.

Pydantic reads a number as a Unix timestamp, so ``?as_of=0`` or ``?start=0`` became
1970-01-01 and answered figures for a day nobody asked about. :func:`iso_days` runs
before every route (an app-wide dependency) and refuses, with a 400 naming the
parameter, a value of a ``date`` query parameter that is not written ``YYYY-MM-DD``
(optionally with a midnight time, which pydantic also takes).
"""

from __future__ import annotations

import re
import types
from datetime import date
from typing import Any, Union, get_args, get_origin

from fastapi import Request
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from keepwell.core.errors import InputError

_ISO_DAY = re.compile(r"\d{4}-\d{2}-\d{2}(?:[T ]00:00(?::00(?:\.0+)?)?(?:Z|[+-]00:?00)?)?")


def is_iso_day(value: str) -> bool:
    """Whether ``value`` is written as a day (pure): ``2025-06-30``."""
    return _ISO_DAY.fullmatch(value.strip()) is not None


def _is_day_type(annotation: Any) -> bool:
    if annotation is date:
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        return any(a is date for a in get_args(annotation))
    return False


def _day_params(dependant: Dependant) -> list[str]:
    names = [
        field.alias for field in dependant.query_params if _is_day_type(field.field_info.annotation)
    ]
    for sub in dependant.dependencies:
        names.extend(_day_params(sub))
    return names


_FOUND = "_keepwell_day_params"


def _route_day_params(route: APIRoute) -> tuple[str, ...]:
    """The day parameters of ``route``, found once and kept on the route."""
    names: tuple[str, ...] | None = getattr(route, _FOUND, None)
    if names is None:
        names = tuple(dict.fromkeys(_day_params(route.dependant)))
        setattr(route, _FOUND, names)
    return names


def iso_days(request: Request) -> None:
    """Refuse a ``date`` query parameter not written as a day (400, naming it)."""
    route = request.scope.get("route")
    if not isinstance(route, APIRoute):
        return
    for name in _route_day_params(route):
        for value in request.query_params.getlist(name):
            if value and not is_iso_day(value):
                raise InputError(
                    f"{name}: {value[:40]!r} is not a day", hint="write it as YYYY-MM-DD"
                )
