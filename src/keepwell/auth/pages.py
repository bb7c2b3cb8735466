"""Admin pages: the users (change a role, deactivate or reactivate, reset a password)
and the audit trail (filter, export as CSV). Users are for admins; the audit trail for
admins and managers. Every change goes through the auth service, which records it."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from keepwell.auth import service
from keepwell.auth.errors import PermissionDeniedError
from keepwell.auth.principal import Role
from keepwell.web.toolkit import PageUser, check_form, page_user, render, workspace_of

router = APIRouter(include_in_schema=False)
User = Annotated[PageUser, Depends(page_user)]
Email = Annotated[str, Form(max_length=320)]
Csrf = Annotated[str, Form(max_length=200)]
#: Rows the audit page shows (the CSV export has all of them).
AUDIT_PAGE_ROWS = 200


def _admin(user: PageUser) -> None:
    if user.principal.role is not Role.ADMIN:
        raise PermissionDeniedError(f"{user.principal.email} is not an admin")


@router.get("/admin/users", response_class=HTMLResponse)
def users_page(request: Request, user: User, done: str | None = None) -> HTMLResponse:
    """Every user with their role and status, and the forms to change them."""
    _admin(user)
    ws = workspace_of(request)
    return render(
        request, user, "admin_users.html", title="Users", users=service.list_users(ws),
        roles=[r.value for r in Role], done=done,
        unassigned=service.accounts_of_inactive_owners(ws),
    )  # fmt: skip


def _back(message: str) -> RedirectResponse:
    return RedirectResponse(f"/admin/users?done={message}", status_code=303)


@router.post("/admin/users/role")
def change_role(
    request: Request, user: User, csrf_token: Csrf, email: Email,
    role: Annotated[str, Form(max_length=16)],
) -> Response:  # fmt: skip
    check_form(user, csrf_token)
    _admin(user)
    service.set_role(workspace_of(request), email, role, now=datetime.now(UTC), by=user.principal)
    return _back(f"{email} is now {role}")


@router.post("/admin/users/active")
def change_active(
    request: Request, user: User, csrf_token: Csrf, email: Email,
    active: Annotated[bool, Form()],
) -> Response:  # fmt: skip
    check_form(user, csrf_token)
    _admin(user)
    ws, now, by = workspace_of(request), datetime.now(UTC), user.principal
    if active:
        service.activate_user(ws, email, now=now, by=by)
        return _back(f"{email} can sign in again")
    service.deactivate_user(ws, email, now=now, by=by)
    return _back(f"{email} is deactivated; their sessions and tokens stopped")


@router.post("/admin/users/password")
def reset_password(
    request: Request, user: User, csrf_token: Csrf, email: Email,
    password: Annotated[str, Form(max_length=1024)],
) -> Response:  # fmt: skip
    check_form(user, csrf_token)
    _admin(user)
    service.reset_password(
        workspace_of(request), email, password, now=datetime.now(UTC), by=user.principal
    )
    return _back(f"the password of {email} is reset; their sessions ended")


def _filters(
    user: Annotated[str | None, Query(max_length=320)] = None,
    account: Annotated[str | None, Query(max_length=255)] = None,
    kind: Annotated[str | None, Query(max_length=32)] = None,
    since: date | None = None,
    until: date | None = None,
) -> dict[str, Any]:
    return {"actor": user or None, "account_id": account or None, "kind": kind or None,
            "since": since, "until": until}  # fmt: skip


Filters = Annotated[dict[str, Any], Depends(_filters)]


def _auditor(user: PageUser) -> None:
    if user.principal.role not in (Role.ADMIN, Role.MANAGER):
        raise PermissionDeniedError(f"{user.principal.email} is not an admin or manager")


@router.get("/admin/audit", response_class=HTMLResponse)
def audit_page(request: Request, user: User, filters: Filters) -> HTMLResponse:
    """The newest audit rows matching the filters, with their changes in words."""
    _auditor(user)
    ws = workspace_of(request)
    rows = service.list_audit(ws, AUDIT_PAGE_ROWS, **filters)
    for row in rows:
        row["change"] = service.change_text(row["details"])
    return render(
        request, user, "admin_audit.html", title="Audit trail", rows=rows,
        kinds=service.audit_kinds(ws), filters=filters, limit=AUDIT_PAGE_ROWS,
    )  # fmt: skip


@router.get("/admin/audit.csv")
def audit_csv(request: Request, user: User, filters: Filters) -> Response:
    """Every audit row matching the filters as CSV (formula-like cells neutralised)."""
    _auditor(user)
    body = service.audit_csv(service.list_audit(workspace_of(request), None, **filters))
    headers = {"Content-Disposition": 'attachment; filename="keepwell-audit.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
