"""Row ids: the id columns are 32-bit signed integers (``INTEGER`` on PostgreSQL), so a
valid id is in 1 .. :data:`MAX_ID`. The HTTP faces declare their path and form
parameters with these bounds (:mod:`keepwell.web.ids`), so a larger number is refused
as invalid input (422) instead of overflowing in the database driver (a 500)."""

from __future__ import annotations

#: The smallest row id.
MIN_ID = 1
#: The largest id an id column holds on every store (PostgreSQL ``INTEGER``).
MAX_ID = 2**31 - 1
