"""References: the referenceable flag, requests and uses under the fatigue limit, and
the 100/100/100 tracker of the first customers."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from keepwell.contract.service import import_file
from keepwell.core.errors import InputError, NotFoundError
from keepwell.core.workspace import Workspace
from keepwell.success import service
from keepwell.success.references import next_available, uses_in_window
from tests.cli_runner import run_cli
from tests.factories import write_rows
from tests.success.company import AS_OF, load_company

DAY = date(2025, 3, 1)


def test_fatigue_window_arithmetic() -> None:
    uses = [DAY, DAY + timedelta(days=10)]
    assert uses_in_window(uses, DAY + timedelta(days=89)) == 2
    assert uses_in_window(uses, DAY + timedelta(days=90)) == 1  # the first dropped out
    assert next_available(uses, DAY + timedelta(days=20), 2) == DAY + timedelta(days=90)
    assert next_available(uses, DAY + timedelta(days=20), 3) == DAY + timedelta(days=20)


def test_requests_and_uses_respect_the_fatigue_limit(workspace: Workspace, tmp_path: Path) -> None:
    ws = workspace
    load_company(ws, tmp_path)
    with pytest.raises(InputError, match="'A' is not referenceable"):
        service.request_reference(ws, "A", purpose="sales call", requested_by=None, on=DAY)
    with pytest.raises(NotFoundError, match="no account 'Z'"):
        service.set_referenceable(ws, "Z", True, on=DAY)
    service.set_referenceable(ws, "A", True, on=DAY)
    request = service.request_reference(
        ws, "A", purpose="sales call with Initech", requested_by="ae@example.com", on=DAY
    )
    service.record_use(ws, "A", kind="call", on=DAY, request_id=request)
    service.record_use(ws, "A", kind="case_study", on=DAY + timedelta(days=10))
    with pytest.raises(InputError, match=r"2 times in 90 days \(limit 2\)") as refused:
        service.request_reference(
            ws, "A", purpose="third", requested_by=None, on=DAY + timedelta(days=30)
        )
    assert refused.value.hint == "ask another customer, or again from 2025-05-30"
    with pytest.raises(InputError, match="limit 2"):
        service.record_use(ws, "A", kind="call", on=DAY + timedelta(days=89))
    service.record_use(ws, "A", kind="call", on=DAY + timedelta(days=90))  # one dropped out
    (row,) = service.list_references(ws, DAY + timedelta(days=90))
    assert (row["uses_in_window"], row["limit"]) == (2, 2)
    assert row["available_on"] == DAY + timedelta(days=100)

    service.set_referenceable(ws, "B", True, on=DAY, max_uses=1)  # its own, stricter limit
    service.record_use(ws, "B", kind="logo", on=DAY)
    with pytest.raises(InputError, match="limit 1"):
        service.record_use(ws, "B", kind="call", on=DAY + timedelta(days=5))


def test_tracker_of_the_first_customers(
    sqlite_workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws = sqlite_workspace
    load_company(ws, tmp_path)  # A renews 2025-10-01, B is month to month
    more = [
        {"line_id": "c1", "account_id": "C", "product": "core", "mrr": "100",
         "starts_on": "2024-01-01", "ends_on": "2025-01-01"},  # churned at renewal
        {"line_id": "d1", "account_id": "D", "product": "core", "mrr": "100",
         "starts_on": "2024-02-01", "ends_on": "2025-02-01"},
        {"line_id": "d2", "account_id": "D", "product": "core", "mrr": "120",
         "starts_on": "2025-02-01", "ends_on": "2026-02-01"},  # renewed (expanded)
    ]  # fmt: skip
    accounts = [{"account_id": "C", "name": "Gamma"}, {"account_id": "D", "name": "Delta"}]
    import_file(ws, "accounts", write_rows(tmp_path / "more_accounts.csv", accounts))
    import_file(ws, "subscriptions", write_rows(tmp_path / "more_lines.csv", more))
    service.set_referenceable(ws, "D", True, on=AS_OF)
    result = service.reference_tracker(ws, AS_OF)
    assert result["customers"] == 4
    assert result["referenceable_share"] == pytest.approx(1 / 4)
    assert result["retained"] == 3  # A, B, D pay on the day; C churned
    assert (result["up_for_renewal"], result["renewed"]) == (2, 1)  # C churned, D renewed
    assert result["renewal_rate"] == pytest.approx(0.5)

    shown = run_cli(["references", "tracker", "--on", AS_OF.isoformat(), "--format", "json"],
                    ws.root, capsys, monkeypatch)  # fmt: skip
    assert shown.code == 0, shown.err
    assert json.loads(shown.out)["renewal_rate"] == 0.5
    refused = run_cli(["references", "use", "C", "--on", AS_OF.isoformat()],
                      ws.root, capsys, monkeypatch)  # fmt: skip
    assert refused.code == 2
    assert "'C' is not referenceable" in refused.err
