"""Business reviews: percentiles, SVG charts, the review's content, the PDF and the CLI."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from pypdf import PdfReader

from keepwell.core.workspace import Workspace
from keepwell.reports import service, svg
from keepwell.reports.pages import filename
from keepwell.reports.peers import median, percentile_rank
from tests.cli_runner import run_cli
from tests.web.pages_helpers import HOSTILE, page_book

NOW = datetime(2026, 1, 1, tzinfo=UTC)


def test_percentile_rank_is_mid_rank() -> None:
    assert percentile_rank(3, [1, 2, 3, 4]) == 62.5
    assert percentile_rank(0, [1, 2]) == 0.0
    assert percentile_rank(None, [1]) is None
    assert percentile_rank(1, [None]) is None


def test_median_of_known_values() -> None:
    assert (median([3, None, 1, 2]), median([1, 2, 3, 4]), median([])) == (2, 2.5, None)


def test_svg_escapes_labels() -> None:
    chart = svg.line_chart("<b>t</b>", ["<x>"], {"<s>": [1.0]}, y_label="&")
    assert "<b>" not in chart
    assert "&lt;b&gt;" in chart
    assert "&lt;x&gt;" in chart


def test_download_name_is_safe() -> None:
    assert filename('a"/\\b<c>', "2026-01-01") == "qbr-a___b_c_-2026-01-01.pdf"


def test_review_has_peers_support_renewal_and_goals(sqlite_workspace: Workspace) -> None:
    day = page_book(sqlite_workspace)
    review = service.business_review(sqlite_workspace, "A1", day)
    arr = next(m for m in review["peers"]["measures"] if m["key"] == "arr")
    assert (review["peers"]["peers"], arr["percentile"]) == (2, 100.0)
    assert (review["support"]["opened"], review["support"]["urgent"]) == (1, 1)
    assert review["renewal"]["renewal_arr"] == 12000
    assert review["goals"][0].startswith("Find a new sponsor")


def test_pdf_has_pages_and_shows_hostile_names_as_text(sqlite_workspace: Workspace) -> None:
    day = page_book(sqlite_workspace)
    pdf = service.review_pdf(service.business_review(sqlite_workspace, "A1", day), generated_at=NOW)
    reader = PdfReader(io.BytesIO(pdf))
    text = "".join(page.extract_text() for page in reader.pages)
    assert len(reader.pages) >= 1
    assert '<script>alert("x")</script>' in text.replace("\n", "")


def test_qbr_command_writes_a_pdf(
    sqlite_workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    day = page_book(sqlite_workspace)
    out = tmp_path / "a1.pdf"
    result = run_cli(["qbr", "A1", "--out", str(out), "--as-of", str(day)],
                     sqlite_workspace.root, capsys, monkeypatch)  # fmt: skip
    assert result.code == 0, result.err
    assert len(PdfReader(out).pages) >= 1


def test_qbr_command_names_an_unknown_account(
    sqlite_workspace: Workspace,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    result = run_cli(["qbr", "NOPE", "--out", str(tmp_path / "x.pdf")],
                     sqlite_workspace.root, capsys, monkeypatch)  # fmt: skip
    assert result.code != 0
    assert "NOPE" in result.err


def test_hostile_name_is_escaped_in_the_html(sqlite_workspace: Workspace) -> None:
    day = page_book(sqlite_workspace)
    html = service.review_html(
        service.business_review(sqlite_workspace, "A1", day), generated_at=NOW
    )
    assert HOSTILE not in html
    assert "&lt;script&gt;" in html


def test_chart_tops_are_round_numbers() -> None:
    assert [svg.nice_top(x) for x in (0, 3, 41.8, 906.4, 58497)] == [1, 4, 60, 1000, 60000]


def test_review_shows_the_success_plan_objectives(sqlite_workspace: Workspace) -> None:
    from keepwell.success import service as success_service

    day = page_book(sqlite_workspace)
    plan = success_service.create_plan(sqlite_workspace, "A1", as_of=day)
    review = service.business_review(sqlite_workspace, "A1", day)
    html = service.review_html(review, generated_at=NOW)
    first = plan["objectives"][0]["metric"]
    assert review["plan"]["objectives"][0]["title"] == first
    assert first in html
    assert any(goal.startswith(f"Reach the objective {first}") for goal in review["goals"])
