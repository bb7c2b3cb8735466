"""The server's control endpoint: ``keepwell`` processes of the same workspace send
the commands that need its stores here (:mod:`keepwell.server.forward`).

Not part of the public API (left out of the OpenAPI schema): it takes the token of the
server's record in the workspace (``run/server-PORT.json``, readable by its owner
only) and answers 404 to anything else, as if it did not exist.
"""

from __future__ import annotations

import hmac
from typing import Annotated, cast

from fastapi import APIRouter, Header, HTTPException, Request
from pydantic import BaseModel, Field

from keepwell.server.forward import CONTROL_PATH, TOKEN_HEADER
from keepwell.server.runtime import ServerRuntime

router = APIRouter(include_in_schema=False)


class CommandRequest(BaseModel):
    argv: list[Annotated[str, Field(max_length=4096)]] = Field(min_length=1, max_length=100)


class CommandResponse(BaseModel):
    exit_code: int
    stdout: str
    stderr: str


@router.post(CONTROL_PATH)
def run_command(
    request: Request,
    body: CommandRequest,
    token: Annotated[str | None, Header(alias=TOKEN_HEADER)] = None,
) -> CommandResponse:
    """Run ``keepwell ARGV`` in the server's process; its exit code and output."""
    runtime = cast(ServerRuntime | None, getattr(request.app.state, "runtime", None))
    if (
        runtime is None
        or runtime.runner is None
        or token is None
        or not hmac.compare_digest(token.encode(), runtime.claim.record.token.encode())
    ):
        raise HTTPException(status_code=404, detail="Not Found")
    result = runtime.runner.run(body.argv)
    return CommandResponse(exit_code=result.exit_code, stdout=result.stdout, stderr=result.stderr)
