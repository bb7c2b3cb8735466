"""``keepwell notifications deliver|list|retry`` as a user runs them, settings from the
environment, against a real SMTP server."""

from __future__ import annotations

import json

import pytest

from keepwell.core.database import transaction
from keepwell.core.workspace import Workspace
from keepwell.notify import service
from tests.cli_runner import run_cli
from tests.notify.receivers import SmtpSink


def test_deliver_list_and_retry_from_the_cli(
    sqlite_workspace: Workspace,
    smtp: SmtpSink,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    home = sqlite_workspace.root
    for key, value in {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port),
                       "MAX_ATTEMPTS": "1", "SMTP_FROM": "cs@x.example"}.items():  # fmt: skip
        monkeypatch.setenv(f"KEEPWELL_{key}", value)
    with transaction(sqlite_workspace.engine) as session:
        service.enqueue(session, channel="email", target="ann@acme.example", subject="Hi",
                        body="Hello", dedupe_key="cli-1")  # fmt: skip
    smtp.refuse = True
    failed = run_cli(["notifications", "deliver"], home, capsys, monkeypatch)
    assert failed.code == 1
    assert "refused" in failed.out
    assert "1 failed" in failed.out
    listed = run_cli(["notifications", "list", "--status", "failed", "--format", "json"],
                     home, capsys, monkeypatch)  # fmt: skip
    [row] = json.loads(listed.out)
    assert (row["status"], row["attempts"], row["target"]) == ("failed", 1, "ann@acme.example")
    smtp.refuse = False
    retried = run_cli(["notifications", "retry", str(row["id"])], home, capsys, monkeypatch)
    assert retried.code == 0, retried.err
    delivered = run_cli(["notifications", "deliver", "--format", "json"], home, capsys,
                        monkeypatch)  # fmt: skip
    assert delivered.code == 0, delivered.err
    assert json.loads(delivered.out)["sent"] == 1
    assert [m["Subject"] for m in smtp.messages] == ["Hi"]
    table = run_cli(["notifications", "list"], home, capsys, monkeypatch)
    assert "sent" in table.out
    unknown = run_cli(["notifications", "retry", "42"], home, capsys, monkeypatch)
    assert unknown.code == 2
    assert "no notification 42" in unknown.err
    bad = run_cli(["notifications", "list", "--status", "lost"], home, capsys, monkeypatch)
    assert bad.code == 2
    assert "unknown status" in bad.err
