"""A revenue book limited to the accounts one owner (CSM) is assigned, or the whole book."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from keepwell.contract.service import read_table
from keepwell.core.workspace import Workspace
from keepwell.revenue.service import Book, book_from_arrow, load_book


def scoped_book(workspace: Workspace, owner: str | None) -> Book:
    """The book of every account (``owner`` None), or of the accounts whose ``owner``
    is ``owner`` and their subscription lines only."""
    if owner is None:
        return load_book(workspace)
    accounts = read_table(workspace, "accounts")
    accounts = accounts.filter(pc.equal(accounts["owner"], pa.scalar(owner)))
    lines = read_table(workspace, "subscriptions")
    lines = lines.filter(pc.is_in(lines["account_id"], value_set=accounts["account_id"]))
    return book_from_arrow(
        lines, accounts, read_table(workspace, "fx_rates"), workspace.setting("base_currency")
    )
