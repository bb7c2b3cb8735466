"""Row ids as they arrive in URLs and forms: positive and within the 32-bit signed
integer the id columns are (``INTEGER`` on PostgreSQL). A larger number is refused as
invalid input (422) instead of overflowing in the database driver (a 500)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Form, Path

#: The largest id an id column holds on every store (PostgreSQL ``INTEGER``).
MAX_ID = 2**31 - 1

#: A row id in a URL path.
PathId = Annotated[int, Path(ge=1, le=MAX_ID)]
#: A row id in a posted form.
FormId = Annotated[int, Form(ge=1, le=MAX_ID)]
