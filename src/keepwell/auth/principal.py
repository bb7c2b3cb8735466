"""Who is asking, and what their role and token scope let them do (pure logic)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    CSM = "csm"
    VIEWER = "viewer"


class Scope(StrEnum):
    READ = "read"
    WRITE = "write"


#: Roles allowed to write (import data, change records); viewers only read.
WRITING_ROLES = frozenset({Role.ADMIN, Role.MANAGER, Role.CSM})
#: Roles allowed to change the whole book at once (imports) and manage people.
MANAGING_ROLES = frozenset({Role.ADMIN, Role.MANAGER})


@dataclass(frozen=True)
class Principal:
    """A signed-in user as one request sees them.

    ``scope`` is the token's scope (sessions have ``write``); writing needs both a
    writing role and a write scope.
    """

    user_id: int
    email: str
    role: Role
    scope: Scope

    @property
    def can_write(self) -> bool:
        return self.scope is Scope.WRITE and self.role in WRITING_ROLES

    @property
    def can_manage(self) -> bool:
        return self.can_write and self.role in MANAGING_ROLES

    def owner_scope(self, restrict_csm: bool) -> str | None:
        """The account owner this principal is limited to (None: every account).

        Only CSMs are limited, and only when the workspace restricts them.
        """
        return self.email if restrict_csm and self.role is Role.CSM else None
