"""What a CSM edits about an account besides CTAs and plans: its owner, its contacts'
role and whether they left, and their call on its next renewal (commit, likely, at
risk, with a reason) beside the model's forecast.

Owner and contacts are data-contract records, written through the contract's loader
(as an import of the same rows would be); each change is audited with before and
after. A renewal call is kept with its history; the latest per account counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from keepwell.contract.service import load_rows, read_table, visible_account
from keepwell.core.audit import audit_alone, changed, record_audit
from keepwell.core.database import transaction
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.workspace import Workspace
from keepwell.success.models import RenewalCall

#: The account attribute health reads as a segment set by hand.
OVERRIDE = "segment_override"
#: What clears it (an attribute merged with None keeps its value).
CLEARED = "rules"
#: Contact roles of the data contract.
CONTACT_ROLES = ("sponsor", "champion", "admin", "user", "billing")


class Call(StrEnum):
    COMMIT = "commit"
    LIKELY = "likely"
    AT_RISK = "at_risk"


def _load(workspace: Workspace, entity: str, row: dict[str, Any], what: str) -> None:
    report = load_rows(workspace, entity, [row])
    if report.rejected:
        reason = report.examples[0].reason if report.examples else "refused"
        raise InputError(f"{what} was not saved: {reason}")


def set_account_owner(
    workspace: Workspace, account_id: str, owner: str | None, *, scope: str | None
) -> None:
    """Give ``account_id`` to ``owner`` (an email; empty: no owner)."""
    account = visible_account(workspace, account_id, scope=scope)
    new = (owner or "").strip() or None
    if new is not None and "@" not in new:
        raise InputError(f"owner {new!r} is not an email address")
    before = account.owner
    _load(workspace, "accounts", {"account_id": account_id, "name": account.name, "owner": new},
          f"the owner of {account_id}")  # fmt: skip
    audit_alone(workspace.engine, action="account.owner", target=f"account {account_id}",
                account_id=account_id, before={"owner": before}, after={"owner": new})  # fmt: skip


def set_segment_override(
    workspace: Workspace,
    account_id: str,
    segment: str | None,
    *,
    segments: Sequence[str],
    scope: str | None,
) -> None:
    """Put the account in ``segment`` whatever the segment rules say (None or empty: the
    rules decide again); it takes effect at the next scoring."""
    account = visible_account(workspace, account_id, scope=scope)
    new = (segment or "").strip() or None
    if new is not None and new not in segments:
        raise InputError(f"unknown segment {new!r}", hint=f"one of {', '.join(segments)}")
    before = (account.attributes or {}).get(OVERRIDE)
    _load(workspace, "accounts", {"account_id": account_id, "name": account.name,
                                  OVERRIDE: new or CLEARED},
          f"the segment of {account_id}")  # fmt: skip
    audit_alone(workspace.engine, action="account.segment", target=f"account {account_id}",
                account_id=account_id, before={OVERRIDE: before},
                after={OVERRIDE: new})  # fmt: skip


def edit_contact(
    workspace: Workspace,
    account_id: str,
    contact_id: str,
    *,
    role: str,
    left_on: date | None,
    scope: str | None,
) -> None:
    """Set a contact's role, and that they left the company on ``left_on`` (None: they
    are still there)."""
    visible_account(workspace, account_id, scope=scope)
    if role not in CONTACT_ROLES:
        raise InputError(
            f"unknown contact role {role!r}", hint=f"one of {', '.join(CONTACT_ROLES)}"
        )
    contacts = read_table(workspace, "contacts", account_id=account_id).to_pylist()
    contact = next((c for c in contacts if c["contact_id"] == contact_id), None)
    if contact is None:
        raise NotFoundError(f"no contact {contact_id!r} at {account_id}")
    before = {"role": contact.get("role"), "is_active": contact.get("is_active"),
              "left_on": _iso(contact.get("left_on"))}  # fmt: skip
    after = {"role": role, "is_active": left_on is None, "left_on": _iso(left_on)}
    _load(workspace, "contacts", {"contact_id": contact_id, "account_id": account_id, **after},
          f"contact {contact_id}")  # fmt: skip
    old, new = changed(before, after)
    audit_alone(workspace.engine, action="contact.edit",
                target=f"contact {contact_id}: {contact.get('name') or contact.get('email')}",
                account_id=account_id, before=old, after=new)  # fmt: skip


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, date) else value


def record_renewal_call(
    workspace: Workspace,
    account_id: str,
    call: str,
    reason: str,
    *,
    renewal_on: date | None,
    by: str,
    now: datetime,
    scope: str | None,
) -> None:
    """Record ``by``'s call (commit, likely, at_risk) on the account's next renewal."""
    visible_account(workspace, account_id, scope=scope)
    try:
        value = Call(call)
    except ValueError:
        raise InputError(f"unknown renewal call {call!r}",
                         hint="one of commit, likely, at_risk") from None  # fmt: skip
    if not reason.strip():
        raise InputError("a renewal call needs a reason")
    with transaction(workspace.engine) as session:
        previous = _latest(session, [account_id]).get(account_id)
        session.add(RenewalCall(account_id=account_id, renewal_on=renewal_on, call=value.value,
                                reason=reason.strip(), made_by=by, made_at=now))  # fmt: skip
        record_audit(
            session, action="renewal.call", target=f"renewal of {account_id}", now=now,
            account_id=account_id,
            before={"call": previous["call"]} if previous else None,
            after={"call": value.value, "reason": reason.strip(), "renewal_on": _iso(renewal_on)},
        )  # fmt: skip


def _latest(session: Session, account_ids: Sequence[str] | None) -> dict[str, dict[str, Any]]:
    query = sa.select(RenewalCall).order_by(RenewalCall.id)
    if account_ids is not None:
        query = query.where(RenewalCall.account_id.in_(list(account_ids)))
    result = {}
    for row in session.execute(query).scalars():
        result[row.account_id] = {"call": row.call, "reason": row.reason, "by": row.made_by,
                                  "at": row.made_at, "renewal_on": row.renewal_on}  # fmt: skip
    return result


def renewal_calls(
    workspace: Workspace, account_ids: Sequence[str] | None = None
) -> dict[str, dict[str, Any]]:
    """The latest renewal call per account (of ``account_ids``, or all)."""
    with Session(workspace.engine) as session:
        return _latest(session, account_ids)
