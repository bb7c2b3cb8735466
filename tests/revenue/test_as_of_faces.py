"""Every face works as of the data's now and refuses a day in the future: the API, the
CLI commands that store snapshots (score, risk predict, run) and the pages. Before,
``risk predict --as-of 2031-01-01`` stored a snapshot in 2031 that the overview chart
then showed."""

from __future__ import annotations

from pathlib import Path

import pytest

from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from tests.cli_runner import run_cli
from tests.web.helpers import add_user, client, make_app, two_csm_book
from tests.web.pages_helpers import add_person, sign_in


def test_the_api_defaults_to_the_data_s_now_and_refuses_the_future(
    sqlite_workspace: Workspace,
) -> None:
    two_csm_book(sqlite_workspace)
    http = client(make_app(sqlite_workspace), add_user(sqlite_workspace, "b@example.com", "admin"))
    last = health_service.last_data_day(sqlite_workspace)
    assert last is not None
    assert http.get("/api/v1/metrics/summary").json()["as_of"] == last.isoformat()
    for path in ("/api/v1/metrics/summary", "/api/v1/metrics/cohorts", "/api/v1/risk/forecast"):
        answer = http.get(path, params={"as_of": "2031-01-01"})
        assert answer.status_code == 400, path
        assert "is in the future" in answer.text


@pytest.mark.parametrize("args", [["score"], ["risk", "predict"], ["run"], ["metrics", "summary"]])
def test_commands_refuse_a_future_day(
    args: list[str],
    sqlite_workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    two_csm_book(sqlite_workspace)
    home = Path(sqlite_workspace.root)
    result = run_cli([*args, "--as-of", "2031-01-01"], home, capsys, monkeypatch)
    assert result.code == 2, result.out + result.err
    assert "--as-of 2031-01-01 is in the future" in result.err
    assert health_service.list_snapshots(sqlite_workspace) == []


def test_pages_say_when_they_fall_back_to_the_data_s_last_day(
    sqlite_workspace: Workspace,
) -> None:
    two_csm_book(sqlite_workspace)
    add_person(sqlite_workspace, "boss@example.com", "admin")
    http = sign_in(make_app(sqlite_workspace), "boss@example.com")
    last = health_service.last_data_day(sqlite_workspace)
    assert last is not None
    for path in ("/", "/renewals", "/cohorts", "/survival"):
        page = http.get(path)
        assert page.status_code == 200, path
        assert f"as of {last.isoformat()}, the last day of the data" in page.text, path
    assert http.get("/", params={"as_of": "2031-01-01"}).status_code == 400
