"""The data's now for CLI faces: ``--as-of`` or its default, one rule for every command
(:func:`keepwell.health.service.data_as_of`). Its own module so that CLIs which must not
reach other slices (``contract``) can use :mod:`keepwell.console` alone."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

from keepwell.console import err, parse_day

if TYPE_CHECKING:
    from keepwell.core.workspace import Workspace


def data_day(ws: Workspace, value: str | date | None, option: str = "--as-of") -> date:
    """The day a command works as of: ``value`` (a ``YYYY-MM-DD`` string or a date), or
    by default the data's now (today, or the data's last day when today is past it,
    said on standard error so that CSV and JSON output stay clean). A day in the
    future of both the data and the clock is an :class:`InputError` naming ``option``.
    One rule for every face: :func:`keepwell.health.service.data_as_of`."""
    from keepwell.health import service as health_service  # loaded on first use

    requested = parse_day(value, option) if isinstance(value, str) else value
    resolved = health_service.data_as_of(ws, requested, datetime.now(UTC).date())
    note = resolved.note()
    if note is not None:
        err.print(f"[dim]{note.capitalize()}; {option} chooses another day.[/dim]", highlight=False)
    return resolved.day
