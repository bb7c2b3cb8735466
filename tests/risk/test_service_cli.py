"""The risk slice end to end on a synthetic company with a known signal (SQLite): train
through the CLI, evaluate, predict (stored with the health snapshot and shown by
``keepwell health show``), forecast renewals, score prospects, profile the ICP, and the
HTTP routes with their owner scope."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from typer.testing import CliRunner

from keepwell.cli import app
from keepwell.core.errors import InputError
from keepwell.core.settings import get_settings
from keepwell.core.workspace import Workspace
from keepwell.health import service as health_service
from keepwell.health.api_schemas import HealthExplanationRead
from keepwell.risk import service
from keepwell.risk.api import AccountRiskRead, ModelCardRead, RenewalForecastRead
from keepwell.risk.features import build_features
from keepwell.risk.store import models_dir
from keepwell.success import service as success_service
from tests.cli_runner import run_cli
from tests.conftest import make_workspace
from tests.risk.company import END, FIRST_MONTH, account_id, churn_day, is_doomed, load_company
from tests.web.helpers import add_user, client, make_app
from tests.web.pages_helpers import add_person, sign_in


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Workspace]:
    ws = make_workspace(tmp_path_factory.mktemp("risk") / "ws")
    load_company(ws)
    yield ws
    ws.close()


def cli(ws: Workspace, *args: str) -> Any:
    """``keepwell ARGS --format json`` on ``ws``; the parsed output."""
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app, [*args, "--format", "json"], env={"KEEPWELL_HOME": str(ws.root)}
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def card(company: Workspace) -> dict[str, Any]:
    return dict(cli(company, "risk", "train", "--as-of", END.isoformat(), "--from", FIRST_MONTH))


def test_training_is_point_in_time_versioned_and_finds_the_signal(
    company: Workspace, card: dict[str, Any]
) -> None:
    assert card["version"] == 1
    assert (models_dir(company.root) / "v1" / "model.joblib").is_file()
    assert "days_since_cancelled_on" in card["excluded_features"]  # the planted leak
    assert not any("cancelled" in f for f in card["features"])
    last_outcome = card["data_window"]["last_outcome_day"]
    assert last_outcome <= END.isoformat()
    assert max(card["split"]["test"]) <= (END - timedelta(days=180)).isoformat()
    model, health = card["metrics"]["model"], card["metrics"]["health_score"]
    assert model["roc_auc"] > 0.9
    assert model["rows"] == health["rows"]  # the same test rows
    assert 0 <= model["ece"] < 0.15


def test_evaluate_reports_model_and_health_score(company: Workspace, card: dict[str, Any]) -> None:
    result = cli(company, "risk", "evaluate")
    assert result["version"] == card["version"]
    assert set(result["metrics"]) == {"model", "health_score"}
    metrics = result["metrics"]["model"]
    for key in ("roc_auc", "pr_auc", "brier", "ece", "top_decile_lift", "calibration"):
        assert metrics[key] is not None
    assert sum(b["rows"] for b in metrics["calibration"]) == metrics["rows"]


def test_predictions_are_stored_with_the_snapshot_and_shown(
    company: Workspace, card: dict[str, Any]
) -> None:
    result = cli(company, "risk", "predict", "--as-of", END.isoformat())
    rows = {r["account_id"]: r for r in result["predictions"]}
    assert result["stored"] == result["accounts"] == len(rows)
    assert result["arr_at_risk"] == pytest.approx(
        sum(r["churn_probability"] * r["arr"] for r in rows.values())
    )
    fading = [
        account_id(i)
        for i in range(72)
        if is_doomed(i) and timedelta(0) < (churn_day(i) or END) - END <= timedelta(days=75)
    ]
    healthy = [account_id(i) for i in range(72) if not is_doomed(i) and account_id(i) in rows]
    assert fading
    assert min(rows[a]["churn_probability"] for a in fading) > max(
        rows[a]["churn_probability"] for a in healthy
    )
    drivers = rows[fading[0]]["risk_drivers"]
    assert drivers
    assert all(d["contribution"] > 0 and d["text"] for d in drivers)

    shown = cli(company, "health", "show", fading[0], "--as-of", END.isoformat())
    assert shown["risk"]["churn_probability"] == pytest.approx(rows[fading[0]]["churn_probability"])
    assert shown["risk"]["drivers"] == drivers


@pytest.mark.slow
def test_renewal_forecast_now_and_against_the_past(
    company: Workspace, card: dict[str, Any]
) -> None:
    result = cli(company, "risk", "forecast", "--within", "120", "--as-of", END.isoformat())
    lines = result["upcoming"]["lines"]
    assert lines
    assert sum(b["arr"] for b in result["upcoming"]["buckets"]) == pytest.approx(
        sum(ln["arr"] for ln in lines)
    )
    for line in lines:
        assert line["expected_arr"] == pytest.approx((1 - line["churn_probability"]) * line["arr"])
    past = result["past"]
    assert past["forecast_as_of"] == (END - timedelta(days=120)).isoformat()
    churned = [ln for ln in past["lines"] if ln["outcome"] == "churned"]
    assert churned
    assert all(ln["actual_arr"] == 0 for ln in churned)
    at_risk = {b["bucket"]: b for b in past["buckets"]}["at risk"]
    assert at_risk["lines"] >= 1
    # the trees and the calibrator saw outcomes up to the last calibration day + horizon
    learned = date.fromisoformat(card["split"]["calibration"][-1]) + timedelta(days=180)
    assert past["model_learned_outcomes_until"] == learned.isoformat()
    assert past["out_of_sample"] is (learned <= END - timedelta(days=120))

    # a forecast day before what the model learned from is flagged in sample
    args = ("risk", "forecast", "--within", "120", "--as-of", (learned + timedelta(60)).isoformat())
    assert cli(company, *args)["past"]["out_of_sample"] is False
    table = CliRunner().invoke(app, args, env={"KEEPWELL_HOME": str(company.root)})
    assert "In sample" in table.output
    assert "train with --as-of" in table.output

    # --format csv is one CSV table (upcoming by default; --table past for the other)
    env = {"KEEPWELL_HOME": str(company.root)}
    both = cli(company, *args)
    upcoming = CliRunner().invoke(app, [*args, "--format", "csv"], env=env)
    assert upcoming.exit_code == 0, upcoming.output
    header, *rows = list(csv.reader(io.StringIO(upcoming.stdout)))
    assert header[0] == "bucket"
    assert all(len(r) == len(header) for r in rows)
    assert len(rows) == len(both["upcoming"]["buckets"])
    past_csv = CliRunner().invoke(app, [*args, "--format", "csv", "--table", "past"], env=env)
    header, *rows = list(csv.reader(io.StringIO(past_csv.stdout)))
    assert all(len(r) == len(header) for r in rows)
    assert len(rows) == len(both["past"]["buckets"])
    bad = CliRunner().invoke(app, [*args, "--format", "csv", "--table", "x"], env=env)
    assert bad.exit_code != 0
    assert isinstance(bad.exception, InputError)


def test_prospects_and_ideal_customer_profile(company: Workspace) -> None:
    prospects = cli(company, "prospects", "score", "--as-of", END.isoformat())
    scores = {p["account_id"]: p for p in prospects["prospects"]}
    assert set(scores) == {"P0", "P1", "P2", "P3"}
    assert scores["P1"]["fit_score"] > scores["P0"]["fit_score"]  # Software beats Retail
    assert all(p["explanation"] for p in scores.values())
    icp = cli(company, "icp", "--as-of", END.isoformat())
    industry = {g["group"]: g for g in icp["groups"] if g["dimension"] == "industry"}
    assert industry["Software"]["logo_churn"] < industry["Retail"]["logo_churn"]
    assert industry["Software"]["nrr"] > industry["Retail"]["nrr"]
    assert all(g["small"] == (g["accounts"] < 30) for g in icp["groups"])


@pytest.mark.parametrize(
    ("args", "header"),
    [(["prospects", "score"], "account_id,name,fit_score,why"), (["icp"], "dimension,group,")],
)
def test_csv_output_is_pure_csv(company: Workspace, args: list[str], header: str) -> None:
    """The prose line that began these outputs (a CSV reader took it for the header)
    goes to standard error; standard output is a header and rows of equal width."""
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(
            app,
            [*args, "--as-of", END.isoformat(), "--format", "csv"],
            env={"KEEPWELL_HOME": str(company.root)},
        )
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert ",".join(rows[0]).startswith(header)
    assert len(rows) > 2
    assert {len(r) for r in rows} == {len(rows[0])}
    assert "Learned from" in result.stderr or "accounts with MRR" in result.stderr


def test_http_routes_respect_the_owner_scope(company: Workspace, card: dict[str, Any]) -> None:
    service.predict_risk(company, END)
    ann = client(make_app(company), add_user(company, "ann@example.com", "csm"))
    mine, theirs = account_id(2), account_id(1)  # owners alternate ann, bob
    risk = ann.get(f"/api/v1/accounts/{mine}/risk")
    assert risk.status_code == 200, risk.text
    assert 0 <= risk.json()["churn_probability"] <= 1
    assert ann.get(f"/api/v1/accounts/{theirs}/risk").status_code == 404
    forecast = ann.get("/api/v1/risk/forecast", params={"within": 120, "as_of": END.isoformat()})
    assert forecast.status_code == 200, forecast.text
    accounts = {ln["account_id"] for ln in forecast.json()["upcoming"]["lines"]}
    assert accounts
    assert all(int(a[1:]) % 2 == 0 for a in accounts)
    assert ann.get("/api/v1/risk/model").json()["version"] >= 1


def test_the_response_models_hold_everything_the_services_return(
    company: Workspace, card: dict[str, Any]
) -> None:
    """A key the routes' models do not declare would be dropped from the answer: none."""
    service.predict_risk(company, END)
    ModelCardRead.model_validate(service.model_card(company), extra="forbid")
    forecast = service.renewal_forecast(company, END, 120)
    assert forecast["upcoming"]["lines"]
    assert forecast["past"]["lines"]
    RenewalForecastRead.model_validate(forecast, extra="forbid")
    AccountRiskRead.model_validate(service.account_risk(company, account_id(2)), extra="forbid")
    explained = health_service.explain_account(company, account_id(2))
    assert explained["risk"] is not None
    HealthExplanationRead.model_validate(explained, extra="forbid")


def test_commands_explain_a_missing_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    make_workspace(tmp_path / "empty").close()
    result = run_cli(["risk", "evaluate"], tmp_path / "empty", capsys, monkeypatch)
    assert result.code == 2
    assert "no churn model" in result.err
    assert "keepwell risk train" in result.err
    assert "Traceback" not in result.err


def test_an_unknown_target_is_refused(tmp_path: Path) -> None:
    ws = make_workspace(tmp_path / "ws")
    try:
        with pytest.raises(InputError, match="target 'upsell' is unknown"):
            service.train_model(ws, END, target="upsell")
    finally:
        ws.close()


def test_labels_stop_at_the_last_day_with_data_not_at_a_later_as_of(company: Workspace) -> None:
    # the company's events end the day before END; trained a month later, the outcomes
    # of what follows are unknown, not "no churn"
    later = END + timedelta(days=30)
    assert service.outcomes_known_until(company, later) == END - timedelta(days=1)
    assert service.outcomes_known_until(company, END - timedelta(days=30)) == END - timedelta(30)
    first = END - timedelta(days=300)  # a short window keeps this quick
    rows = service.training_rows(company, later, 180, first)
    last_known = max(d for d in service.snapshot_days(first, later) if d + timedelta(180) < END)
    assert rows.dropna(subset=["label"])["snapshot"].max() == last_known
    # what the labels would have been had the later day been taken as known
    censored = service.training_rows(company, later, 180, first, until=later)
    assert censored.dropna(subset=["label"])["snapshot"].max() > last_known


def test_training_rows_built_column_wise_equal_the_per_account_history(company: Workspace) -> None:
    """``risk train`` builds its rows from the health history as columns (a million rows
    at 50,000 accounts); the model must see what the per-account path gave: the same
    columns in the same order, values, labels and so the same feature matrix."""
    first = END - timedelta(days=400)
    days = service.snapshot_days(first, END)
    known = service.outcomes_known_until(company, END)
    subscriptions = service._subscriptions(company)
    history = health_service.point_in_time_history(company, days, 180, until=known)
    before = service._rows(history, subscriptions)
    after = service.training_rows(company, END, 180, first)
    assert list(after.columns) == list(before.columns)
    assert before["label"].notna().any()
    assert before["label"].isna().any()  # the days whose outcomes are not known yet
    old, new = build_features(before), build_features(after)
    assert (new.features, new.categories, new.excluded) == (
        old.features, old.categories, old.excluded,
    )  # fmt: skip
    assert "days_since_cancelled_on" in new.excluded  # the planted leak, still caught
    pd.testing.assert_frame_equal(new.frame, old.frame, check_exact=True)


RISK_RULES = """
rules:
  - name: churn-risk
    when: churn_probability >= 0.3
    cta:
      type: risk
      title: Churn risk
      reason: "p={churn_probability:.2f}, at risk {arr_at_risk:,.0f}; top driver: {churn_driver}"
"""


def test_the_cycle_predicts_with_a_trained_model_and_rules_read_the_risk(
    company: Workspace, card: dict[str, Any]
) -> None:
    (company.root / "rules.yaml").write_text(RISK_RULES, encoding="utf-8")
    day = END - timedelta(days=1)  # a day no prediction was stored for yet
    stamp = datetime.combine(day, datetime.min.time(), tzinfo=UTC)
    report = success_service.run_cycle(company, day, clock=lambda: stamp, deliver=False)
    assert not report.problems
    assert report.predicted == report.accounts > 0
    ctas = [c for c in success_service.list_ctas(company, as_of=day) if c["rule"] == "churn-risk"]
    assert ctas
    assert all("top driver: " in c["reason"] and "None" not in c["reason"] for c in ctas)
    # stored with the day's snapshot, as `risk predict` would
    shown = cli(company, "health", "show", ctas[0]["account_id"], "--as-of", day.isoformat())
    assert shown["risk"]["churn_probability"] >= 0.3
    flagged = {c["account_id"] for c in ctas}
    about_to_churn = {
        account_id(i) for i in range(30) if is_doomed(i) and day < (churn_day(i) or day)
    }
    assert flagged & about_to_churn


def test_predictions_from_a_health_assessment_already_made_are_the_same(
    company: Workspace, card: dict[str, Any]
) -> None:
    fresh = service.predictions(company, END)
    reused = service.predictions(company, END, assessed=health_service.assess(company, END))
    assert fresh
    assert reused == fresh


def test_account_360_tells_a_missing_prediction_from_a_missing_model(
    company: Workspace, card: dict[str, Any], tmp_path: Path
) -> None:
    # last in this module: it scores a snapshot after END
    service.predict_risk(company, END)
    add_person(company, "lead@example.com", "admin")
    lead = sign_in(make_app(company), "lead@example.com")
    customer = account_id(2)
    page = lead.get(f"/accounts/{customer}").text
    assert "ARR at risk" in page
    assert "not predicted" not in page

    health_service.compute_scores(company, END + timedelta(days=1))  # a newer snapshot
    page = lead.get(f"/accounts/{customer}").text
    assert "not predicted for this snapshot yet" in page

    bare = make_workspace(tmp_path / "bare")
    try:
        load_company(bare)
        health_service.compute_scores(bare, END)
        add_person(bare, "lead@example.com", "admin")
        page = sign_in(make_app(bare), "lead@example.com").get(f"/accounts/{customer}").text
        assert "no churn model yet (keepwell risk train)" in page
    finally:
        bare.close()


def test_a_forecast_before_the_data_begins_is_empty_not_a_500(
    company: Workspace, card: dict[str, Any]
) -> None:
    """Fuzzing found ``as_of=2020-01-01`` a 500 (``KeyError: 'snapshot'``): no account
    existed, so the feature frame had no columns at all."""
    assert service.predictions(company, date(2020, 1, 1)) == []
    boss = client(make_app(company), add_user(company, "early@example.com", "admin"))
    answer = boss.get("/api/v1/risk/forecast", params={"as_of": "2020-01-01"})
    assert answer.status_code == 200, answer.text
    assert answer.json()["upcoming"]["lines"] == []
