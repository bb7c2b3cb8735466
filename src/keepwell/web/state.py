"""What the app holds for its requests: the workspace, settings, signer, event writer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import cast

from fastapi import Request

from keepwell.auth.sessions import SessionSigner
from keepwell.core.settings import Settings
from keepwell.core.workspace import Workspace
from keepwell.ingest.keys import WriteKeyCache
from keepwell.ingest.writer import EventWriter


@dataclass
class ServerState:
    workspace: Workspace
    settings: Settings
    sessions: SessionSigner
    writer: EventWriter
    #: write key hash -> source name, of keys checked in the last seconds
    sources: WriteKeyCache = field(default_factory=WriteKeyCache)


def server_state(request: Request) -> ServerState:
    return cast(ServerState, request.app.state.keepwell)
