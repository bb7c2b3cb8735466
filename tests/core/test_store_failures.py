"""A store that cannot take writes (read-only, full disk) is one line of error naming
the cause, never "internal error" with the statement's bound customer data."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from keepwell.core.database import store_failure
from keepwell.core.workspace import Workspace
from tests.cli_runner import run_cli
from tests.web.helpers import add_user, client, make_app


def _read_only_url(workspace: Workspace) -> str:
    path = workspace.root / "keepwell.db"
    assert path.exists()
    return f"sqlite:///file:{path}?mode=ro&uri=true"


def test_a_read_only_store_is_one_line_without_customer_data(
    sqlite_workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Before: ``internal error: OperationalError ... [parameters: ('secret@acme...``."""
    monkeypatch.setenv("KEEPWELL_DATABASE_URL", _read_only_url(sqlite_workspace))
    result = run_cli(
        ["users", "add", "secret@acme.example", "--role", "admin"],
        sqlite_workspace.root, capsys, monkeypatch,
    )  # fmt: skip
    assert result.code == 2
    assert "secret@acme.example" not in result.err
    assert "internal error" not in result.err
    assert result.err.startswith(
        "error: the database refused the change: attempt to write a readonly database"
    )


def test_the_server_answers_503_without_customer_data(tmp_path: Path) -> None:
    from tests.conftest import make_workspace

    writable = make_workspace(tmp_path / "ws")
    token = add_user(writable, "boss@example.com", "admin")
    writable.close()
    frozen = make_workspace(
        tmp_path / "ws", f"sqlite:///file:{tmp_path / 'ws' / 'keepwell.db'}?mode=ro&uri=true"
    )
    answer = client(make_app(frozen), token).post(
        "/api/v1/tokens", json={"email": "boss@example.com", "scope": "read"}
    )
    frozen.close()
    assert answer.status_code == 503, answer.text
    assert answer.json()["error"]["code"] == "store_unavailable"
    assert "readonly" in answer.json()["error"]["message"]
    assert "INSERT" not in answer.text


def test_a_full_disk_names_the_file_and_the_cause() -> None:
    full = OSError(errno.ENOSPC, "No space left on device", "/data/ws/analytics.duckdb")
    failure = store_failure(full)
    assert failure is not None
    assert failure.message == "cannot write /data/ws/analytics.duckdb: No space left on device"
    assert store_failure(ValueError("a bug")) is None
