"""``keepwell qbr ACCOUNT --out FILE.pdf``: an account's business review as PDF (or
HTML when the file ends in ``.html``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from keepwell.console import err, opened_workspace
from keepwell.console import parse_day as _day
from keepwell.core.errors import InputError
from keepwell.reports import service


def qbr(
    account: Annotated[str, typer.Argument(help="The account id.")],
    out: Annotated[Path, typer.Option("--out", help="File to write: .pdf or .html.")],
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="Last day of the review (YYYY-MM-DD).")
    ] = None,
) -> None:
    """Write the business review of ACCOUNT: usage, health, plan, peers, support, renewal
    and next goals."""
    if out.suffix.lower() not in (".pdf", ".html"):
        raise InputError(f"--out {out} must end in .pdf or .html")
    with opened_workspace() as ws:
        review = service.business_review(ws, account, _day(as_of))
    now = datetime.now(UTC)
    try:
        if out.suffix.lower() == ".pdf":
            out.write_bytes(service.review_pdf(review, generated_at=now))
        else:
            out.write_text(service.review_html(review, generated_at=now), encoding="utf-8")
    except OSError as exc:
        raise InputError(f"cannot write {out}: {exc.strerror}") from exc
    err.print(f"Business review of {account} written to {out}", highlight=False, markup=False)


def register(app: typer.Typer) -> None:
    """Add ``qbr`` to the root ``app``."""
    app.command("qbr")(qbr)
