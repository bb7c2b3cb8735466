"""Row ids as they arrive in URLs and forms: within what an id column holds
(:mod:`keepwell.core.ids`), else a 422 instead of a driver overflow (a 500)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path

from keepwell.core.ids import MAX_ID, MIN_ID

#: A row id in a URL path.
PathId = Annotated[int, Path(ge=MIN_ID, le=MAX_ID)]
#: A row id in a posted form.
FormId = Annotated[int, Form(ge=MIN_ID, le=MAX_ID)]
