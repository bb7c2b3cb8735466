"""What the app holds for its requests: the workspace, settings, session signer, the
analytics lock, the data's day, and what a slice's face keeps for the server's life
(:meth:`ServerState.part`, e.g. ingestion's event writer).

The server (:mod:`keepwell.server.app`) fills it in; the web toolkit imports no slice for
it: the rule for a page's day is handed in as :attr:`ServerState.data_day`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar, cast

from fastapi import Request

from keepwell.auth.sessions import SessionSigner
from keepwell.core.periods import AsOf
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace

T = TypeVar("T")
#: The day a face works as of: (workspace, requested day or None, today) -> the day
#: and why (:func:`keepwell.health.service.data_as_of`).
DataDay = Callable[[Workspace, date | None, date], AsOf]


@dataclass
class ServerState:
    workspace: Workspace
    settings: Settings
    sessions: SessionSigner
    #: serialises use of the analytics connection (shared with the event writer)
    analytics_lock: threading.RLock
    data_day: DataDay
    #: what slices' faces keep for the server's life, by type (see :meth:`part`)
    parts: dict[type, object] = field(default_factory=dict)

    def part(self, kind: type[T]) -> T:
        """The one ``kind`` object the server holds for a slice's face."""
        return cast(T, self.parts[kind])


def server_state(request: Request) -> ServerState:
    return cast(ServerState, request.app.state.keepwell)
