"""HTTP face of the contract: account list and usage, and file imports.

The server's authentication runs before every route here; the routes take the
workspace, the caller's scope (None: every account, else the owner's email) and the
analytics lock as typed dependencies (:mod:`keepwell.web.deps`).
"""

from __future__ import annotations

import re
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Query, UploadFile
from fastapi.concurrency import run_in_threadpool

from keepwell.contract import queries
from keepwell.contract.api_schemas import AccountPage, ImportRead, UsageRead
from keepwell.contract.schema import ENTITIES
from keepwell.contract.service import ImportReport, import_file
from keepwell.core.errors import InputError
from keepwell.web.deps import AnalyticsLock, OwnerScope, WorkspaceDep
from keepwell.web.errors import error_responses

router = APIRouter(prefix="/api/v1", tags=["accounts"])
imports = APIRouter(prefix="/api/v1", tags=["imports"], responses=error_responses(400, 413))

#: Upload size limit of one import file, in bytes.
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
_ALLOWED_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,200}$")


@router.get("/accounts", response_model=AccountPage)
def list_accounts(
    workspace: WorkspaceDep,
    scope: OwnerScope,
    search: Annotated[str | None, Query(max_length=200)] = None,
    industry: Annotated[str | None, Query(max_length=255)] = None,
    country: Annotated[str | None, Query(max_length=2)] = None,
    owner: Annotated[str | None, Query(max_length=320)] = None,
    is_prospect: bool | None = None,
    sort: queries.AccountSort = queries.AccountSort.NAME,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=10_000_000)] = 0,
) -> dict[str, Any]:
    """Accounts visible to the caller, filtered, sorted and paginated."""
    filters = queries.AccountFilter(search, industry, country, owner, is_prospect)
    items, total = queries.list_accounts(
        workspace, scope=scope, filters=filters, sort=sort, limit=limit, offset=offset
    )
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get(
    "/accounts/{account_id}/usage",
    response_model=list[UsageRead],
    responses=error_responses(404),
)
def account_usage(
    workspace: WorkspaceDep,
    scope: OwnerScope,
    lock: AnalyticsLock,
    account_id: str,
    start: date | None = None,
    end: date | None = None,
) -> list[dict[str, Any]]:
    """Product usage of an account per day and event (from the event rollup)."""
    queries.visible_account(workspace, account_id, scope=scope)
    with lock:
        return queries.account_usage(workspace.analytics(), account_id, start, end)


def _report(report: ImportReport) -> dict[str, Any]:
    return {
        "entity": report.entity,
        "dry_run": report.dry_run,
        "read": report.read,
        "loaded": report.loaded,
        "new": report.counts.new,
        "updated": report.counts.updated,
        "unchanged": report.counts.unchanged,
        "rejected": report.rejected,
        "exit_code": report.exit_code,
        "rejects": [{"line": r.line, "reason": r.reason} for r in report.examples],
    }


def _suffix(filename: str | None) -> str:
    name = Path(filename or "").name
    if not _ALLOWED_NAME.match(name) or "." not in name:
        raise InputError(
            f"upload file name {name!r} has no usable extension",
            hint="name the file .csv, .parquet, .jsonl or .ndjson, optionally followed by .gz",
        )
    return "".join(Path(name).suffixes[-2:])


@imports.post("/imports/{entity}", response_model=ImportRead)
async def upload_import(
    workspace: WorkspaceDep,
    lock: AnalyticsLock,
    entity: str,
    file: UploadFile,
    dry_run: bool = False,
) -> dict[str, Any]:
    """Import ENTITY rows from an uploaded CSV, Parquet or JSON Lines file (optionally
    gzipped), with the CLI's rules: valid rows load in one transaction, rejected rows
    are listed with their line and reason (``exit_code`` 1), an unusable file is a 400."""
    if entity not in ENTITIES:
        raise InputError(f"unknown entity {entity!r}", hint=f"one of {', '.join(ENTITIES)}")
    suffix = _suffix(file.filename)
    with tempfile.TemporaryDirectory(prefix="keepwell-import-") as tmp:
        path = Path(tmp) / f"upload{suffix}"
        size = 0
        with path.open("wb") as target:
            while chunk := await file.read(1024 * 1024):
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise InputError(f"the upload is larger than {MAX_UPLOAD_BYTES} bytes")
                target.write(chunk)
        rejects = Path(tmp) / f"upload.rejects{suffix}"

        def run() -> ImportReport:
            with lock:
                return import_file(
                    workspace, entity, path, dry_run=dry_run, rejects_path=rejects,
                    label=Path(file.filename or path.name).name,
                )  # fmt: skip

        report = await run_in_threadpool(run)
    return _report(report)
