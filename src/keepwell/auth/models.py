"""Tables of the auth slice: users, their sessions and API tokens (the audit log of every
write is core's :class:`keepwell.core.audit.AuditEntry`: every slice writes it)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from keepwell.core.audit import AuditEntry
from keepwell.core.database import Base, UTCDateTime

__all__ = ["ApiToken", "AuditEntry", "SavedView", "User", "UserSession"]


class User(Base):
    """A person who signs in: ``role`` is one of admin, manager, csm, viewer.

    ``password_hash`` is an argon2 hash (None: the user signs in with tokens only).
    """

    __tablename__ = "users"

    user_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(sa.String(320), unique=True)
    role: Mapped[str] = mapped_column(sa.String(16))
    password_hash: Mapped[str | None] = mapped_column(sa.Text)
    is_active: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ApiToken(Base):
    """A personal API token: only the SHA-256 of the secret is stored."""

    __tablename__ = "api_tokens"

    token_id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(16))
    scope: Mapped[str] = mapped_column(sa.String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class UserSession(Base):
    """A signed-in browser session: the cookie names it (``sid``), this row says whether
    it still holds. Sign-out, deactivation and a password reset revoke it, so a copied
    cookie stops working at once (the signature alone cannot be withdrawn)."""

    __tablename__ = "user_sessions"

    session_hash: Mapped[str] = mapped_column(sa.String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(
        sa.Integer, sa.ForeignKey("users.user_id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SavedView(Base):
    """A user's named view of a list page: the page's query string (filters, sort)."""

    __tablename__ = "saved_views"
    __table_args__ = (sa.UniqueConstraint("email", "page", "name"),)

    id: Mapped[int] = mapped_column(sa.Integer, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(sa.String(320), index=True)
    page: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(120))
    query: Mapped[str] = mapped_column(sa.String(2000))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
