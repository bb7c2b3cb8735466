"""The team slice on a real workspace: explanation parts add up exactly on a ledger
where the answer is known; attainment reads the same function as `metrics summary`;
books and coverage of a hand-made team."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from keepwell.core.workspace import Workspace
from keepwell.revenue import service as revenue_service
from keepwell.team import service
from tests.cli_runner import run_cli
from tests.conftest import make_workspace
from tests.team.ledger import AS_OF, load_ledger


@pytest.fixture(scope="module")
def ws(tmp_path_factory: pytest.TempPathFactory) -> Workspace:
    workspace = make_workspace(tmp_path_factory.mktemp("team") / "ws")
    load_ledger(workspace)
    return workspace


def test_doubled_churn_of_one_segment_is_that_segment_s_rate_effect(ws: Workspace) -> None:
    result = service.explain_metric(ws, "logo_churn", AS_OF, AS_OF.replace(month=2, day=1))
    assert (result["value0"], result["value1"]) == (Decimal("0.100000"), Decimal("0.166667"))
    assert result["change"] == Decimal("0.066667")  # 1/6 - 1/10 = 1/15
    for name in ("industry", "team", "csm"):
        groups = {g["group"]: g for g in result["dimensions"][name]}
        assert sum((g["mix"] + g["rate"] for g in groups.values()), Decimal(0)) == result["change"]
    by_industry = {g["group"]: g for g in result["dimensions"]["industry"]}
    # by hand: weights 2/3 and 1/3 in both months (no mix); A: 2/3 x (4/20 - 2/20) = 1/15
    assert (by_industry["A"]["mix"], by_industry["A"]["rate"]) == (Decimal(0), Decimal("0.066667"))
    assert (by_industry["B"]["mix"], by_industry["B"]["rate"]) == (Decimal(0), Decimal(0))
    assert by_industry["A"]["rate0"] == Decimal("0.100000")
    assert by_industry["A"]["rate1"] == Decimal("0.200000")
    assert result["dimensions"]["team"][0]["group"] == "ta"
    # team ta is industry A here: either names the carrier, all of it rate
    assert "carried most of it (+6.67 pp: mix +0.00 pp, rate +6.67 pp)" in result["summary"]
    assert "its own rate changed" in result["summary"]
    # per account: each of the four A and one B accounts that left in March adds 1/30,
    # each of the two A and one B accounts that left in February takes 1/30 away
    top = {a["account_id"]: a["change"] for a in result["top_accounts"]}
    assert {a for a, c in top.items() if c > 0} == {"a02", "a03", "a04", "a05", "b01"}
    assert {a for a, c in top.items() if c < 0} == {"a00", "a01", "b00"}
    assert top["a02"] == Decimal("0.033333")


def test_one_month_per_account_is_what_mrr_movements_says(ws: Workspace) -> None:
    book = revenue_service.load_book(ws)
    for month in (AS_OF.replace(month=2, day=1), AS_OF.replace(day=1)):
        fast = revenue_service.account_month_movements(ws, month, book=book)
        end = revenue_service.month_end(month.year * 12 + month.month - 1)
        every = revenue_service.mrr_movements(ws, month, end, "account_id", book=book)
        moving = {r["group"]: r for r in every if r["starting_mrr"] or r["ending_mrr"]}
        assert fast == moving


def test_rate_parts_per_account_in_the_engine_are_rate_parts_of_its_movements(
    ws: Workspace,
) -> None:
    book = revenue_service.load_book(ws)
    months = (AS_OF.replace(month=1, day=1), AS_OF.replace(day=1))
    table = revenue_service.account_rate_parts(ws, *months, book=book).to_pylist()
    assert len({r["account_id"] for r in table}) == len(table) == 33  # one row per account
    for i, month in enumerate(months):
        rows = revenue_service.account_month_movements(ws, month, book=book)
        for r in table:
            row = rows.get(r["account_id"])
            expected = {} if row is None else revenue_service.rate_parts(row)
            if row is not None:
                expected["mrr"] = (row["ending_mrr"], row["ending_accounts"])
            for name in revenue_service.RATE_NAMES:
                n, d = expected.get(name, (0, 0))
                assert (r[f"{name}_n{i}"], r[f"{name}_d{i}"]) == (n, d), (r["account_id"], name)


def test_paying_accounts_are_those_with_arr_on_the_day(ws: Workspace) -> None:
    book = revenue_service.load_book(ws)
    for day in (AS_OF.replace(month=1, day=31), AS_OF.replace(month=2, day=15), AS_OF):
        arr = revenue_service.account_arr(ws, day, book=book)
        expected = {a for a, r in arr.items() if r["arr"] > 0}
        assert revenue_service.paying_accounts(ws, day, book=book) == expected
    assert len(revenue_service.paying_accounts(ws, AS_OF, book=book)) == 33 - 8  # 8 have left


def test_grr_and_mrr_parts_add_up_exactly(ws: Workspace) -> None:
    grr = service.explain_metric(ws, "grr", AS_OF)
    assert grr["vs"] == "2025-02"
    assert grr["change"] == Decimal("-0.066667")
    industry = {g["group"]: g for g in grr["dimensions"]["industry"]}
    assert industry["A"]["rate"] == Decimal("-0.066667")
    assert industry["B"]["total"] == 0
    mrr = service.explain_metric(ws, "mrr", AS_OF)
    assert mrr["change"] == Decimal("-500.000000")  # A 2000 -> 1600, B 1000 -> 900
    for groups in mrr["dimensions"].values():
        assert sum((g["total"] for g in groups), Decimal(0)) == mrr["change"]
    a = next(g for g in mrr["dimensions"]["industry"] if g["group"] == "A")
    assert (a["mix"], a["rate"]) == (Decimal("-400.000000"), Decimal(0))  # 4 fewer x 100


def test_explain_refuses_an_unknown_metric_or_an_order_of_months(ws: Workspace) -> None:
    from keepwell.core.errors import InputError

    with pytest.raises(InputError, match="cannot explain 'arpu'"):
        service.explain_metric(ws, "arpu", AS_OF)
    with pytest.raises(InputError, match="must be before"):
        service.explain_metric(ws, "nrr", AS_OF.replace(month=2, day=1), AS_OF)


def test_attainment_reads_the_same_function_as_metrics_summary(
    ws: Workspace, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for kind, ident in (("company", ""), ("team", "ta"), ("csm", "bob@example.com")):
        for name, value in (("nrr", "1.1"), ("grr", "0.9"), ("cmrr", "2000")):
            service.set_target(ws, "2025-Q1", name, Decimal(value), kind, ident)
    ann = {f"a{i:02d}" for i in range(22)}
    team = service.attainment(ws, "2025-Q1", AS_OF, "team", "ta")
    assert team["accounts"] == 22
    rows = {r["metric"]: r for r in team["rows"]}
    same = revenue_service.portfolio_summary(ws, AS_OF, book=revenue_service.book_of(ws, ann))
    assert rows["nrr"]["actual"] == Decimal(str(same.nrr_ttm))
    assert rows["grr"]["actual"] == Decimal(str(same.grr_ttm))
    assert rows["cmrr"]["actual"] == same.cmrr
    assert rows["nrr"]["attainment"] == rows["nrr"]["actual"] / Decimal("1.1")
    # A lost 6 of its 20 year-old accounts: NRR 14/20 (the two new ones are not in the base)
    assert rows["nrr"]["actual"] == Decimal("0.7")
    # the company's figures are those `keepwell metrics summary` prints
    out = run_cli(["metrics", "summary", "--as-of", "2025-03-31", "--format", "json"],
                  Path(ws.root), capsys, monkeypatch)  # fmt: skip
    printed = json.loads(out.out)
    company = {r["metric"]: r for r in service.attainment(ws, "2025-Q1", AS_OF)["rows"]}
    assert (
        float(company["nrr"]["actual"]) == printed["nrr_ttm"] == pytest.approx(22 / 30)
    )  # 14 of A and 8 of B
    assert float(company["cmrr"]["actual"]) == printed["cmrr"]
    bob = {
        r["metric"]: r
        for r in service.attainment(ws, "2025-Q1", AS_OF, "csm", "bob@example.com")["rows"]
    }
    assert bob["nrr"]["actual"] == Decimal("0.8")  # 8 of 10 year-old accounts still pay
    assert bob["nrr"]["forecast"] == bob["nrr"]["actual"]  # no churn model: nothing expected lost


def test_books_and_coverage_of_a_hand_made_team(ws: Workspace) -> None:
    view = service.book_view(ws, AS_OF, "company", "")
    books = {b["holder"]: b for b in view["csms"]}
    assert (books["ann@example.com"]["accounts"], books["bob@example.com"]["accounts"]) == (16, 9)
    assert books["ann@example.com"]["arr"] == Decimal(16 * 1200)
    assert books["ann@example.com"]["over_capacity"]
    assert view["total"]["accounts"] == 25
    team = service.book_view(ws, AS_OF, "team", "ta")
    assert [b["holder"] for b in team["csms"]] == ["ann@example.com"]
    assert team["total"]["accounts"] == 16
    # a CSM's or a team's view, built from its own accounts only, is the company's row
    assert (
        service.book_view(ws, AS_OF, "csm", "bob@example.com")["total"] == books["bob@example.com"]
    )
    teams = {b["holder"]: b for b in view["teams"]}
    assert team["total"] == teams["ta"]
    assert team["csms"] == [books["ann@example.com"]]
    report = service.coverage_report(ws, AS_OF)
    # no CSM covers A's segment with room (segments here come from health: none scored)
    assert report["moves"] == [] or all(m["from"] == "ann@example.com" for m in report["moves"])


def test_books_count_live_ctas_and_their_open_and_overdue_tasks(ws: Workspace) -> None:
    from datetime import UTC, datetime, timedelta

    from keepwell.core.database import transaction
    from keepwell.success import service as success_service
    from keepwell.success.models import Cta, CtaTask

    at, late, soon = datetime(2025, 3, 1, tzinfo=UTC), AS_OF - timedelta(days=3), AS_OF
    with transaction(ws.engine) as session:
        for n, (account, status) in enumerate((("a06", "open"), ("a07", "snoozed"),
                                               ("a08", "closed"))):  # fmt: skip
            cta = Cta(account_id=account, rule="r", key=f"k{n}", open_key=f"o{n}", type="risk",
                      priority="high", title="t", reason="r", trigger_values={},
                      owner="ann@example.com", status=status, opened_on=late, due_on=late,
                      created_at=at, updated_at=at)  # fmt: skip
            session.add(cta)
            session.flush()
            for i, (due, state) in enumerate(((late, "open"), (soon, "open"), (late, "done"))):
                session.add(CtaTask(cta_id=cta.id, position=i, title="s", owner_role="csm",
                                    due_on=due, status=state))  # fmt: skip
    counts = success_service.work_counts(ws, AS_OF)
    # the snoozed CTA is live, not overdue; the closed one and its tasks count nowhere
    assert counts == {"a06": (1, 1, 2, 1), "a07": (1, 0, 2, 1)}
    assert success_service.work_counts(ws, AS_OF, ["a07", "b00"]) == {"a07": (1, 0, 2, 1)}
    live = success_service.list_ctas(ws, as_of=AS_OF)
    assert sum(c[0] for c in counts.values()) == len(live)
    assert sum(c[1] for c in counts.values()) == sum(c["overdue"] for c in live)
    ann = {b["holder"]: b for b in service.book_view(ws, AS_OF, "company", "")["csms"]}
    assert (ann["ann@example.com"]["open_tasks"], ann["ann@example.com"]["overdue_tasks"]) == (4, 2)
    mine = {r["account_id"]: r for r in service.book_accounts(ws, AS_OF, "ann@example.com")}
    assert (mine["a06"]["open_tasks"], mine["a06"]["overdue_tasks"]) == (2, 1)


def test_books_count_active_plans_behind_schedule(ws: Workspace) -> None:
    from datetime import timedelta

    from keepwell.core.database import transaction
    from keepwell.success import service as success_service
    from keepwell.success.models import PlanMilestone, SuccessPlan

    late, soon = AS_OF - timedelta(days=1), AS_OF + timedelta(days=9)
    plans = (
        ("a09", "active", ((late, "open"), (soon, "open"))),  # behind
        ("a10", "active", ((late, "done"), (soon, "open"))),  # on schedule
        ("b05", "completed", ((late, "open"),)),  # not active
        ("b06", "active", ((late, "open"), (late, "open"))),
    )  # behind, counted once
    with transaction(ws.engine) as session:
        for n, (account, status, milestones) in enumerate(plans):
            plan = SuccessPlan(account_id=account, template="t", title="p", status=status,
                               created_on=AS_OF, active_key=None)  # fmt: skip
            session.add(plan)
            session.flush()
            for i, (due, state) in enumerate(milestones):
                session.add(PlanMilestone(plan_id=plan.id, position=i, title=f"m{n}",
                                          side="ours", due_on=due, status=state))  # fmt: skip
    assert success_service.plans_behind(ws, AS_OF) == {"a09": 1, "b06": 1}
    assert success_service.plans_behind(ws, AS_OF, ["b06", "a10"]) == {"b06": 1}
    books = {b["holder"]: b for b in service.book_view(ws, AS_OF, "company", "")["csms"]}
    assert books["ann@example.com"]["plans_behind"] == 1
    assert books["bob@example.com"]["plans_behind"] == 1
    team = service.book_view(ws, AS_OF, "team", "ta")
    assert team["total"]["plans_behind"] == 1
