"""Honest charts and pages (issue 19 item 6): cohort sizes shown and small cohorts
flagged, 0% apart from no data; survival with its confidence band; NPS answers as
points with a rolling mean; the partial current month marked; renewals' legend with
unscored apart from green; counts written as counts; and every error on a page route a
page in the app's layout, never the API's JSON."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from keepwell.portfolio.account import nps_trend, usage_by_month
from keepwell.portfolio.renewals import at_stake_first, by_month
from keepwell.risk.store import CARD_FILE, models_dir
from keepwell.web import charts
from tests.conftest import make_workspace
from tests.web.helpers import client, make_app
from tests.web.pages_helpers import add_person, page_book, sign_in


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[FastAPI]:
    """The pages' small book (three accounts of one cohort, an NPS answer, usage up to
    yesterday) and a churn model card with its held-out metrics."""
    ws = make_workspace(tmp_path_factory.mktemp("honest") / "ws")
    page_book(ws)
    add_person(ws, "boss@example.com", "admin")
    card = models_dir(ws.root) / "v1" / CARD_FILE
    card.parent.mkdir(parents=True)
    metrics = {"roc_auc": 0.8123, "base_rate": 0.0734, "rows": 1270.0}
    card.write_text(json.dumps({"version": 1, "metrics": {"gradient boosting": metrics}}))
    yield make_app(ws)
    ws.close()


@pytest.fixture(scope="module")
def boss(app: FastAPI) -> TestClient:
    return sign_in(app, "boss@example.com")


def _charts(page: str) -> dict[str, dict[str, Any]]:
    """The page's plotly figures by their target element."""
    found = re.findall(r'data-target="([^"]+)">(.*?)</script>', page)
    return {target: json.loads(text) for target, text in found}


def test_cohorts_show_their_size_and_flag_the_small(boss: TestClient) -> None:
    page = boss.get("/cohorts").text
    heat = _charts(page)["heat"]["data"][0]
    assert heat["y"] == ["2025-01 · 3 accounts (small)"]  # three accounts began in 2025-01
    assert "fewer than 20 accounts (marked small)" in page
    assert ">small</span>" in page


def test_a_zero_cell_reads_zero_and_an_empty_cell_stays_blank() -> None:
    chart = charts.heatmap("h", "t", [0, 1, 2], ["c"], [[1.0, 0.0, None]], x_title="x",
                           y_title="y")  # fmt: skip
    trace = chart["figure"]["data"][0]
    assert trace["texttemplate"] == "%{z:.0%}"  # 0% is written in its cell
    assert trace["hoverongaps"] is False  # a cell without data has no value to show
    low = trace["colorscale"][0][1].lstrip("#")
    assert min(int(low[i : i + 2], 16) for i in (0, 2, 4)) < 0xE0  # 0% is not near-white


def test_survival_draws_its_confidence_band(boss: TestClient) -> None:
    data = _charts(boss.get("/survival").text)["survival"]["data"]
    band = [t for t in data if t.get("fill") == "tonexty"]
    assert len(band) == 1
    assert band[0]["name"].endswith("95% interval")
    upper = data[data.index(band[0]) - 1]  # the band fills up to the trace before it
    curve = data[data.index(band[0]) + 1]
    for low, mid, high in zip(band[0]["y"], curve["y"], upper["y"], strict=True):
        if low is not None and high is not None:
            assert low <= mid <= high


def test_nps_answers_are_points_with_a_rolling_mean(boss: TestClient) -> None:
    nps = _charts(boss.get("/accounts/A1").text)["nps"]["data"]
    assert [t["mode"] for t in nps] == ["markers", "lines"]  # answers are never joined
    assert nps[1]["name"] == "mean of the last 5 answers"
    answers = [{"responded_at": f"2026-0{m}-01", "score": s} for m, s in ((3, 0), (1, 10), (2, 5))]
    trend = nps_trend(answers, window=2)
    assert trend["days"] == ["2026-01-01", "2026-02-01", "2026-03-01"]  # oldest first
    assert trend["scores"] == [10, 5, 0]
    assert trend["rolling"] == [10, 7.5, 2.5]


def test_the_partial_current_month_is_marked() -> None:
    rows = [{"day": date(2026, 5, 31), "event": "login", "count": 4, "users": 2},
            {"day": date(2026, 6, 3), "event": "login", "count": 1, "users": 1}]  # fmt: skip
    assert usage_by_month(rows, date(2026, 6, 3))["partial"] == "2026-06"
    assert usage_by_month(rows, date(2026, 6, 30))["partial"] is None  # the month is whole
    bars = charts.bars("b", "t", ["2026-05", "2026-06"], {"churn": [-5, -1]})
    marked = charts.mark_partial(bars, [False, True], "2026-06: partial month")
    assert marked["figure"]["data"][0]["marker"]["opacity"] == [1.0, 0.45]
    assert marked["figure"]["data"][0]["marker"]["pattern"]["shape"] == ["", "/"]
    assert marked["figure"]["layout"]["annotations"][0]["text"] == "2026-06: partial month"


def test_account_360_marks_this_months_usage_as_partial(boss: TestClient) -> None:
    today = datetime.now(UTC).date()
    found = _charts(boss.get("/accounts/A1").text)
    if (today.replace(day=28) - today).days < 0 or today.day == 1:
        pytest.skip("usage ends yesterday: on the 1st or past the 28th the month may be whole")
    events = found["events"]
    assert events["layout"]["annotations"][0]["text"].endswith("partial month, so far")
    assert events["data"][0]["marker"]["opacity"][-1] == 0.45


def test_overview_marks_the_current_month_of_movements_as_partial(boss: TestClient) -> None:
    movements = _charts(boss.get("/").text)["movements"]
    assert movements["data"][0]["x"][-1].endswith("(partial)")
    assert movements["data"][0]["marker"]["opacity"][-1] == 0.45
    assert "partial month" in movements["layout"]["annotations"][0]["text"]


def test_renewals_legend_keeps_unscored_apart_from_green(boss: TestClient) -> None:
    names = [t["name"] for t in _charts(boss.get("/renewals").text)["renewals"]["data"]]
    assert names == ["green", "yellow", "red", "unscored"]
    rows = [{"ends_on": date(2026, 7, 1), "arr": Decimal(a), "band": b, "account_id": b}
            for a, b in (("100", "green"), ("10", "unknown"), ("1", "red"))]  # fmt: skip
    month = by_month(rows)[0]
    assert (month["green_arr"], month["unscored_arr"], month["red_arr"]) == (100, 10, 1)


def test_evidence_writes_counts_as_counts(boss: TestClient) -> None:
    page = boss.get("/evidence").text
    assert '<td class="num">1,270</td>' in page  # Test rows, not "1,270.000"
    assert "1,270.000" not in page
    assert '<td class="num">7.3%</td>' in page  # the base rate is a share
    assert '<td class="num">0.812</td>' in page


def test_a_bad_day_in_a_page_address_answers_a_page(boss: TestClient) -> None:
    answer = boss.get("/renewals?as_of=2026-99-99")
    assert answer.status_code == 422
    assert answer.headers["content-type"].startswith("text/html")
    assert "This address cannot be shown" in answer.text
    assert "as_of" in answer.text
    assert 'href="/accounts"' in answer.text  # in the app's layout, navigation included
    assert "boss@example.com" in answer.text  # with who is signed in
    worded = boss.get("/cohorts?as_of=0")  # refused before the page's own checks: a page too
    assert worded.status_code == 400
    assert worded.headers["content-type"].startswith("text/html")


def test_page_errors_are_pages_and_api_errors_stay_json(boss: TestClient) -> None:
    missing = boss.get("/accounts/NOPE")
    assert missing.status_code == 404
    assert "Not found" in missing.text
    lost = boss.get("/no-such-page", headers={"Accept": "text/html"})
    assert lost.status_code == 404
    assert lost.headers["content-type"].startswith("text/html")
    api = boss.get("/api/v1/metrics/summary?as_of=2026-99-99")
    assert api.status_code == 422
    assert api.json()["error"]["code"] == "invalid_request"
    assert boss.get("/no-such-page").headers["content-type"].startswith("application/json")


def test_an_anonymous_visitor_with_a_bad_address_is_sent_to_sign_in(app: FastAPI) -> None:
    answer = client(app).get("/renewals?as_of=2026-99-99", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"].startswith("/login?next=")


def test_a_renewals_month_lists_the_lines_most_at_stake_first() -> None:
    lines = (("900", "green", "890"), ("100", "red", None), ("500", "yellow", "100"),
             ("800", "yellow", "700"))  # fmt: skip
    rows = [{"ends_on": date(2026, 7, 1), "arr": Decimal(a), "band": b, "account_id": f"{i}",
             "expected_arr": e and Decimal(e)} for i, (a, b, e) in enumerate(lines)]  # fmt: skip
    month = by_month(rows)[0]
    assert [r["account_id"] for r in month["rows"]] == ["0", "1", "2", "3"]  # all counted
    assert [r["account_id"] for r in at_stake_first(rows, 3)] == ["1", "2", "3"]
